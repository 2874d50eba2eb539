import 'reflect-metadata';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { certificateToPem, exportPrivateKeyPem, generateP256KeyPair, randomSerial, type CryptoKeyPair, type X509Certificate } from '@app/shaken';
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509CertificateGenerator,
} from '@peculiar/x509';
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

const ES256 = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
const SERVER_CERT_DAYS = 397;

function serverNames(host: string): { dns: string[]; ips: string[] } {
  const dns = new Set(['localhost']);
  const ips = new Set(['127.0.0.1', '::1']);
  if (host !== '0.0.0.0' && host !== '::') (isIP(host) ? ips : dns).add(host);
  return { dns: [...dns], ips: [...ips] };
}

async function createTlsRoot(keys: CryptoKeyPair): Promise<X509Certificate> {
  const now = Date.now();
  const ski = await SubjectKeyIdentifierExtension.create(keys.publicKey);
  return X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: 'CN=STI Sandbox Local TLS Root, O=shaken-clm sandbox',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 10 * 365 * DAY_MS),
    keys,
    signingAlgorithm: ES256,
    extensions: [
      new BasicConstraintsExtension(true, 0, true),
      new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
      ski,
    ],
  });
}

async function createServerCertificate(root: { certificate: X509Certificate; keys: CryptoKeyPair }, keys: CryptoKeyPair, host: string): Promise<X509Certificate> {
  const now = Date.now();
  const names = serverNames(host);
  const rootSki = root.certificate.getExtension(SubjectKeyIdentifierExtension);
  return X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: 'CN=STI Sandbox',
    issuer: root.certificate.subjectName,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + SERVER_CERT_DAYS * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: root.keys.privateKey,
    signingAlgorithm: ES256,
    extensions: [
      new BasicConstraintsExtension(false, undefined, true),
      new KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
      new ExtendedKeyUsageExtension([ExtendedKeyUsage.serverAuth], false),
      new SubjectAlternativeNameExtension([
        ...names.dns.map((value) => ({ type: 'dns' as const, value })),
        ...names.ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await SubjectKeyIdentifierExtension.create(keys.publicKey),
      ...(rootSki ? [new AuthorityKeyIdentifierExtension(rootSki.keyId)] : []),
    ],
  });
}

function coversHost(certificate: X509Certificate, host: string): boolean {
  const san = certificate.getExtension(SubjectAlternativeNameExtension);
  const values = new Set(san?.names.items.map((name) => name.value) ?? []);
  const { dns, ips } = serverNames(host);
  return [...dns, ...ips].every((name) => values.has(name));
}

/** Loads the TLS root and server certificate, creating or renewing what is missing or stale. */
export async function ensureTlsMaterial(dataDir: string, host: string): Promise<TlsMaterial> {
  const tlsDir = join(dataDir, 'tls');
  const root = await loadOrCreateKeyedCertificate(tlsDir, 'root', createTlsRoot);
  const rootPem = certificateToPem(root.certificate);
  const rootPath = join(dataDir, 'tls-root.pem');
  if ((await readFileIfExists(rootPath)) !== rootPem) await writeFileAtomic(rootPath, rootPem, 0o644);

  let server = await loadKeyedCertificate(tlsDir, 'server');
  const renewBy = Date.now() + 30 * DAY_MS;
  if (!server || server.certificate.notAfter.getTime() < renewBy || !coversHost(server.certificate, host)) {
    const keys = await generateP256KeyPair(true);
    const certificate = await createServerCertificate(root, keys, host);
    await writeFileAtomic(join(tlsDir, 'private', 'server.key'), await exportPrivateKeyPem(keys.privateKey, 'pkcs8'), 0o600);
    await writeFileAtomic(join(tlsDir, 'server.pem'), certificateToPem(certificate), 0o644);
    server = { name: 'server', certificate, keys, certificatePath: join(tlsDir, 'server.pem') };
  }
  const keyPem = await readFileIfExists(join(tlsDir, 'private', 'server.key'));
  if (keyPem === undefined) throw new Error('TLS server key vanished while starting');
  return { rootPath, rootPem, certPem: certificateToPem(server.certificate) + rootPem, keyPem };
}
