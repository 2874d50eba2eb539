import 'reflect-metadata';
import { join } from 'node:path';
import { certificateToPem, exportPrivateKeyPem, generateP256KeyPair, importPrivateKeyPem, parseCertificate, type CryptoKeyPair, type X509Certificate } from '@app/shaken';
import { readFileIfExists, writeFileAtomic } from '../state/atomic-file.js';

/**
 * A certificate and its key kept in the data directory: `<name>.pem` (public, world-readable)
 * and `private/<name>.key` (PKCS#8, mode 0600). Created once, reused on every start, so that
 * trust anchors handed to clients stay valid across restarts.
 */
export interface KeyedCertificate {
  name: string;
  certificate: X509Certificate;
  keys: CryptoKeyPair;
  certificatePath: string;
}

export function certificatePath(dataDir: string, name: string): string {
  return join(dataDir, `${name}.pem`);
}

function keyPath(dataDir: string, name: string): string {
  return join(dataDir, 'private', `${name}.key`);
}

export async function loadKeyedCertificate(dataDir: string, name: string): Promise<KeyedCertificate | undefined> {
  const [certPem, keyPem] = await Promise.all([
    readFileIfExists(certificatePath(dataDir, name)),
    readFileIfExists(keyPath(dataDir, name)),
  ]);
  if (certPem === undefined || keyPem === undefined) return undefined;
  return {
    name,
    certificate: parseCertificate(certPem),
    keys: await importPrivateKeyPem(keyPem, false),
    certificatePath: certificatePath(dataDir, name),
  };
}

/** Generates a key, lets `issue` certify it, and stores both (key first, so a crash leaves no orphan certificate). */
export async function createKeyedCertificate(
  dataDir: string,
  name: string,
  issue: (keys: CryptoKeyPair) => Promise<X509Certificate>,
): Promise<KeyedCertificate> {
  const keys = await generateP256KeyPair(true);
  const certificate = await issue(keys);
  await writeFileAtomic(keyPath(dataDir, name), await exportPrivateKeyPem(keys.privateKey, 'pkcs8'), 0o600);
  await writeFileAtomic(certificatePath(dataDir, name), certificateToPem(certificate), 0o644);
  return { name, certificate, keys, certificatePath: certificatePath(dataDir, name) };
}

export async function loadOrCreateKeyedCertificate(
  dataDir: string,
  name: string,
  issue: (keys: CryptoKeyPair) => Promise<X509Certificate>,
): Promise<KeyedCertificate> {
  return (await loadKeyedCertificate(dataDir, name)) ?? createKeyedCertificate(dataDir, name, issue);
}

/** A certificate without a key of its own (a second certificate for a key stored elsewhere). */
export async function loadOrCreateCertificate(dataDir: string, name: string, issue: () => Promise<X509Certificate>): Promise<X509Certificate> {
  const existing = await readFileIfExists(certificatePath(dataDir, name));
  if (existing !== undefined) return parseCertificate(existing);
  const certificate = await issue();
  await writeFileAtomic(certificatePath(dataDir, name), certificateToPem(certificate), 0o644);
  return certificate;
}
