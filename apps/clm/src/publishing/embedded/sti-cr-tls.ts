import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { issueLocalServerCertificate, issueLocalTlsRoot, namesEveryHost, writeFileAtomic } from '@app/local-infra';
import { X509Certificate } from '@peculiar/x509';

/** The embedded STI-CR's HTTPS identity: server certificate (+ root) and key, PEM. */
export interface StiCrTlsMaterial {
  /** Server certificate followed by the local root, as the TLS server sends it. */
  readonly certPem: string;
  readonly keyPem: string;
  /** The local root that clients of this STI-CR (our own checks) trust explicitly. */
  readonly rootPem: string;
}

const P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const DAY_MS = 86_400_000;
const ROOT_DAYS = 3_650;
// CA/Browser Forum limit for server certificates; renewed on start 30 days ahead of expiry.
const SERVER_DAYS = 397;
const RENEW_BEFORE_MS = 30 * DAY_MS;

/**
 * A TLS root and a server certificate for the embedded STI-CR (STIR-SHAKEN.md §6: an x5u is https
 * only), made on first start and kept in `dir` (keys 0600): the root stays the same across
 * restarts, so what trusts it keeps working; the server certificate is made again when it nears
 * expiry or does not name every host in `hostNames`. This is a loopback/development identity:
 * public verifiers do not trust it (give CLM_STI_CR_TLS_CERT_FILE for a public one).
 */
export async function ensureStiCrTls(dir: string, hostNames: readonly string[]): Promise<StiCrTlsMaterial> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const root = (await loadPair(dir, 'root')) ?? (await savePair(dir, 'root', await newRoot()));
  let server = await loadPair(dir, 'server');
  if (!server || server.certificate.notAfter.getTime() - Date.now() < RENEW_BEFORE_MS || !namesEveryHost(server.certificate, hostNames)) {
    server = await savePair(dir, 'server', await newServer(root, hostNames));
  }
  const rootPem = root.certificate.toString('pem');
  return { certPem: `${server.certificate.toString('pem')}\n${rootPem}\n`, keyPem: server.keyPem, rootPem: `${rootPem}\n` };
}

interface Pair {
  readonly certificate: X509Certificate;
  readonly keys: webcrypto.CryptoKeyPair;
  readonly keyPem: string;
}

async function newRoot(): Promise<Omit<Pair, 'keyPem'>> {
  const keys = await webcrypto.subtle.generateKey(P256, true, ['sign', 'verify']);
  return { certificate: await issueLocalTlsRoot(keys, { subject: 'CN=shaken-clm embedded STI-CR TLS root', lifetimeDays: ROOT_DAYS }), keys };
}

async function newServer(root: Pair, hostNames: readonly string[]): Promise<Omit<Pair, 'keyPem'>> {
  const keys = await webcrypto.subtle.generateKey(P256, true, ['sign', 'verify']);
  const options = { subject: `CN=${hostNames[0] ?? 'localhost'}`, hostNames, lifetimeDays: SERVER_DAYS };
  return { certificate: await issueLocalServerCertificate(root, keys, options), keys };
}

async function loadPair(dir: string, name: string): Promise<Pair | undefined> {
  let certPem: string;
  let keyPem: string;
  try {
    [certPem, keyPem] = await Promise.all([readFile(join(dir, `${name}.pem`), 'utf8'), readFile(join(dir, `${name}.key`), 'utf8')]);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const certificate = new X509Certificate(certPem);
  const der = Buffer.from(keyPem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
  const privateKey = await webcrypto.subtle.importKey('pkcs8', der, P256, true, ['sign']);
  const publicKey = await certificate.publicKey.export(P256, ['verify']);
  return { certificate, keys: { privateKey, publicKey }, keyPem };
}

/** Key first, then certificate, each written whole (temp file, fsync, rename, fsync dir). */
async function savePair(dir: string, name: string, pair: Omit<Pair, 'keyPem'>): Promise<Pair> {
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', pair.keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
  await writeFileAtomic(join(dir, `${name}.key`), keyPem, 0o600);
  await writeFileAtomic(join(dir, `${name}.pem`), `${pair.certificate.toString('pem')}\n`, 0o644);
  return { ...pair, keyPem };
}
