import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { isLoopbackHost } from '@app/local-infra';

/**
 * Whether the CLI may send a bearer credential to `server`, as a message, or undefined when it may.
 * https always; plain http only to a loopback host, where nothing crosses a network. The admin
 * client may be told otherwise (`--insecure-http`, CLM_INSECURE_HTTP=true, e.g. on a private
 * management network); the signer sync agent never, because the answer carries a private key.
 */
export function serverUrlProblem(server: string, use: { readonly receivesPrivateKeys: boolean; readonly insecureHttp?: boolean }): string | undefined {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return `the server URL must be absolute, https://host:port (got "${server}")`;
  }
  if (url.protocol === 'https:') return undefined;
  if (url.protocol !== 'http:') return `the server URL must use https (got ${url.protocol.replace(/:$/, '')})`;
  if (isLoopbackHost(url.hostname)) return undefined;
  const https = `https://${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  if (use.receivesPrivateKeys) {
    return `refusing ${url.origin}: plain http to a host other than this one would carry the signer credential and the private key in cleartext; ` +
      `use ${https} (the service with CLM_TLS_CERT_FILE/CLM_TLS_KEY_FILE, or its TLS proxy), with --ca-file for a private CA. There is no override`;
  }
  if (use.insecureHttp) return undefined;
  return `refusing ${url.origin}: plain http to a host other than this one would carry the admin token in cleartext; ` +
    `use ${https} (with --ca-file for a private CA), or --insecure-http (CLM_INSECURE_HTTP=true) if the network path is trusted`;
}

/**
 * The TLS roots for a server with a private CA: the public roots plus the PEM in `caFile`, as
 * undici's `connect.ca` takes them. Undefined without a file (the defaults apply).
 */
export function serverTrust(caFile: string | undefined): string[] | undefined {
  if (caFile === undefined) return undefined;
  let pem: string;
  try {
    pem = readFileSync(caFile, 'utf8');
  } catch (error) {
    throw new Error(`--ca-file ${caFile} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`--ca-file ${caFile} holds no PEM certificate`);
  return [...rootCertificates, pem];
}
