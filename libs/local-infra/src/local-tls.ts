import 'reflect-metadata';
import { randomBytes, type webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
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
  type X509Certificate,
} from '@peculiar/x509';

/**
 * A local TLS PKI for loopback and development HTTPS listeners (the embedded STI-CR, the STI
 * sandbox): a self-signed root that clients trust explicitly, and server certificates under it.
 * Unrelated to SHAKEN certificates; public clients do not trust it. All keys are P-256, signed ES256.
 */
export interface LocalTlsIssuer {
  readonly certificate: X509Certificate;
  readonly keys: webcrypto.CryptoKeyPair;
}

export interface LocalTlsRootOptions {
  /** Distinguished name, e.g. `CN=..., O=...`. */
  readonly subject: string;
  readonly lifetimeDays: number;
}

export interface LocalServerCertificateOptions {
  readonly subject: string;
  /** DNS names and IP addresses the certificate is for, in SAN order. */
  readonly hostNames: readonly string[];
  readonly lifetimeDays: number;
}

const ES256 = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
// Backdated a minute so that a client whose clock lags slightly still accepts a fresh certificate.
const BACKDATE_MS = 60_000;

/** A self-signed CA root for `keys` (a P-256 pair): may sign end-entity certificates only (path length 0). */
export async function issueLocalTlsRoot(keys: webcrypto.CryptoKeyPair, options: LocalTlsRootOptions): Promise<X509Certificate> {
  const now = Date.now();
  return X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: options.subject,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + options.lifetimeDays * DAY_MS),
    keys,
    signingAlgorithm: ES256,
    extensions: [
      new BasicConstraintsExtension(true, 0, true),
      new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
      await SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
}

/** A serverAuth certificate for `keys` (a P-256 pair), signed by `root`, naming `hostNames` in its SAN. */
export async function issueLocalServerCertificate(
  root: LocalTlsIssuer,
  keys: webcrypto.CryptoKeyPair,
  options: LocalServerCertificateOptions,
): Promise<X509Certificate> {
  const now = Date.now();
  const rootSki = root.certificate.getExtension(SubjectKeyIdentifierExtension);
  return X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: options.subject,
    issuer: root.certificate.subjectName,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + options.lifetimeDays * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: root.keys.privateKey,
    signingAlgorithm: ES256,
    extensions: [
      new BasicConstraintsExtension(false, undefined, true),
      new KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
      new ExtendedKeyUsageExtension([ExtendedKeyUsage.serverAuth], false),
      // RFC 6125 §6.4.4 / CA/B: clients match the host against the SAN only.
      new SubjectAlternativeNameExtension(options.hostNames.map((value) => (isIP(value) ? { type: 'ip' as const, value } : { type: 'dns' as const, value }))),
      await SubjectKeyIdentifierExtension.create(keys.publicKey),
      ...(rootSki ? [new AuthorityKeyIdentifierExtension(rootSki.keyId)] : []),
    ],
  });
}

/** Whether the certificate's SAN names every one of `hostNames` (DNS names compared without case, RFC 4343). */
export function namesEveryHost(certificate: X509Certificate, hostNames: readonly string[]): boolean {
  const san = certificate.getExtension(SubjectAlternativeNameExtension);
  const present = new Set(san?.names.items.map((name) => name.value.toLowerCase()) ?? []);
  return hostNames.every((host) => present.has(host.toLowerCase()));
}

/** RFC 5280 §4.1.2.2: positive, at most 20 octets. */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}
