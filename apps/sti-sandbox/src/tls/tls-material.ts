import 'reflect-metadata';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { issueLocalServerCertificate, issueLocalTlsRoot, namesEveryHost } from '@app/local-infra';
import { certificateToPem, exportPrivateKeyPem, generateP256KeyPair } from '@app/shaken';
import { readFileIfExists, writeFileAtomic } from '../state/atomic-file.js';
import { loadKeyedCertificate, loadOrCreateKeyedCertificate } from '../pki/key-files.js';

/**
 * The sandbox's HTTPS identity. The real STI-PA and STI-CAs are HTTPS-only and RFC 8555 §6.1
 * requires HTTPS for ACME, so the sandbox is too: a local TLS root created on first start and
 * written to `<dataDir>/tls-root.pem` for clients to trust explicitly, and a server certificate
 * for 127.0.0.1, ::1 and localhost (plus the configured host). This PKI is unrelated to SHAKEN.
 */
export interface TlsMaterial {
  rootPath: string;
  rootPem: string;
  certPem: string;
  keyPem: string;
}

const DAY_MS = 86_400_000;
const ROOT_DAYS = 10 * 365;
const SERVER_CERT_DAYS = 397;

/** 127.0.0.1, ::1 and localhost, plus the configured host unless it is a wildcard; DNS names first. */
function serverNames(host: string): string[] {
  const dns = new Set(['localhost']);
  const ips = new Set(['127.0.0.1', '::1']);
  if (host !== '0.0.0.0' && host !== '::') (isIP(host) ? ips : dns).add(host);
  return [...dns, ...ips];
}

/** Loads the TLS root and server certificate, creating or renewing what is missing or stale. */
export async function ensureTlsMaterial(dataDir: string, host: string): Promise<TlsMaterial> {
  const tlsDir = join(dataDir, 'tls');
  const root = await loadOrCreateKeyedCertificate(tlsDir, 'root', (keys) =>
    issueLocalTlsRoot(keys, { subject: 'CN=STI Sandbox Local TLS Root, O=shaken-clm sandbox', lifetimeDays: ROOT_DAYS }),
  );
  const rootPem = certificateToPem(root.certificate);
  const rootPath = join(dataDir, 'tls-root.pem');
  if ((await readFileIfExists(rootPath)) !== rootPem) await writeFileAtomic(rootPath, rootPem, 0o644);

  const hostNames = serverNames(host);
  let server = await loadKeyedCertificate(tlsDir, 'server');
  const renewBy = Date.now() + 30 * DAY_MS;
  if (!server || server.certificate.notAfter.getTime() < renewBy || !namesEveryHost(server.certificate, hostNames)) {
    const keys = await generateP256KeyPair(true);
    const certificate = await issueLocalServerCertificate(root, keys, { subject: 'CN=STI Sandbox', hostNames, lifetimeDays: SERVER_CERT_DAYS });
    await writeFileAtomic(join(tlsDir, 'private', 'server.key'), await exportPrivateKeyPem(keys.privateKey, 'pkcs8'), 0o600);
    await writeFileAtomic(join(tlsDir, 'server.pem'), certificateToPem(certificate), 0o644);
    server = { name: 'server', certificate, keys, certificatePath: join(tlsDir, 'server.pem') };
  }
  const keyPem = await readFileIfExists(join(tlsDir, 'private', 'server.key'));
  if (keyPem === undefined) throw new Error('TLS server key vanished while starting');
  return { rootPath, rootPem, certPem: certificateToPem(server.certificate) + rootPem, keyPem };
}
