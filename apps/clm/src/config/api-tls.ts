import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isLoopbackHost } from '@app/local-infra';

/** How the API listener (admin API and signer API) is served. */
export interface ApiListenerSecurity {
  /** PEM files the listener serves HTTPS with (CLM_TLS_CERT_FILE, CLM_TLS_KEY_FILE); unset: plain http. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  /** CLM_ALLOW_PLAINTEXT_API: plain http on a non-loopback address, for a TLS-terminating proxy in front. */
  readonly allowPlaintext: boolean;
}

/**
 * The API listener's transport rules. This listener hands out private keys
 * (GET /signer/v1/credentials/{ocn}) and takes admin tokens and signer credentials as bearer
 * tokens, so plain http is accepted only where nothing crosses a network: a loopback CLM_HOST,
 * or an operator's explicit CLM_ALLOW_PLAINTEXT_API=true for a TLS-terminating proxy. The
 * certificate and key are read and matched here, so a wrong file stops the start by name
 * (exit 78) instead of failing the first TLS handshake.
 */
export function apiListenerSecurity(
  host: string,
  read: { str: (name: string) => string | undefined; bool: (name: string, fallback: boolean) => boolean },
  cwd: string,
  problems: string[],
): ApiListenerSecurity {
  const certRaw = read.str('CLM_TLS_CERT_FILE');
  const keyRaw = read.str('CLM_TLS_KEY_FILE');
  const allowPlaintext = read.bool('CLM_ALLOW_PLAINTEXT_API', false);
  if ((certRaw === undefined) !== (keyRaw === undefined)) {
    problems.push('CLM_TLS_CERT_FILE, CLM_TLS_KEY_FILE: give both or neither (the API serves HTTPS with both)');
    return { allowPlaintext };
  }
  if (certRaw === undefined || keyRaw === undefined) {
    if (!isLoopbackHost(host) && !allowPlaintext) {
      problems.push(
        `CLM_HOST: ${host} is not a loopback address and the API has no TLS: signer credentials, admin tokens and the private keys ` +
          'handed out on this listener (GET /signer/v1/credentials) would cross the network in cleartext. Set CLM_TLS_CERT_FILE and ' +
          'CLM_TLS_KEY_FILE, or CLM_ALLOW_PLAINTEXT_API=true only when a TLS-terminating proxy is in front, or listen on 127.0.0.1',
      );
    }
    return { allowPlaintext };
  }
  const certFile = resolve(cwd, certRaw);
  const keyFile = resolve(cwd, keyRaw);
  const certificate = readCertificate(certFile, problems);
  const key = readKey(keyFile, problems);
  if (certificate && key && !certificate.checkPrivateKey(key)) {
    problems.push(`CLM_TLS_KEY_FILE: ${keyFile} is not the key of the certificate in CLM_TLS_CERT_FILE (${certFile})`);
  }
  return { tls: { certFile, keyFile }, allowPlaintext };
}

/** The first (server) certificate of the PEM file; the rest of a chain is sent as it is. */
function readCertificate(path: string, problems: string[]): X509Certificate | undefined {
  const text = readOrReport('CLM_TLS_CERT_FILE', path, problems);
  if (text === undefined) return undefined;
  const pem = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/.exec(text)?.[0];
  try {
    if (pem) return new X509Certificate(pem);
  } catch {
    // reported below
  }
  problems.push(`CLM_TLS_CERT_FILE: ${path} holds no PEM certificate`);
  return undefined;
}

function readKey(path: string, problems: string[]): KeyObject | undefined {
  const text = readOrReport('CLM_TLS_KEY_FILE', path, problems);
  if (text === undefined) return undefined;
  try {
    return createPrivateKey(text);
  } catch {
    // Never the parser's message: it may quote the file.
    problems.push(`CLM_TLS_KEY_FILE: ${path} holds no unencrypted PEM private key (value not shown)`);
    return undefined;
  }
}

function readOrReport(name: string, path: string, problems: string[]): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    problems.push(`${name}: ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
}
