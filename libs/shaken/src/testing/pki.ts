// A real, small SHAKEN PKI for the tests of this library: root → intermediate → leaf, made with
// the issuance helpers (so the tests exercise them too), plus the STI-PA CRL signer.
import type { X509Certificate } from '@peculiar/x509';
import { type CaKeyUsage, createCaCertificate, issueShakenCertificate } from '../issuance.js';
import { type CryptoKeyPair, generateP256KeyPair } from '../keys.js';

export const STI_PA_CRL_URL = 'https://authenticate-api.iconectiv.com/download/v1/crl';
export const STI_PA_CRL_ISSUER_DN = 'L=Bridgewater, ST=NJ, CN=STI-PA CRL, C=US, O=STI-PA';
export const DAY_MS = 86_400_000;

export interface TestPki {
  now: Date;
  rootKeys: CryptoKeyPair;
  root: X509Certificate;
  intermediateKeys: CryptoKeyPair;
  intermediate: X509Certificate;
  leafKeys: CryptoKeyPair;
  leaf: X509Certificate;
  spc: string;
}

export interface TestPkiOptions {
  now?: Date;
  spc?: string;
  legalName?: string;
  intermediateKeyUsage?: readonly CaKeyUsage[];
  leafNotBefore?: Date;
  leafNotAfter?: Date;
  label?: string;
}

export async function buildTestPki(options: TestPkiOptions = {}): Promise<TestPki> {
  const now = options.now ?? new Date();
  const label = options.label ?? 'Test';
  const spc = options.spc ?? '818H';
  const [rootKeys, intermediateKeys, leafKeys] = await Promise.all([generateP256KeyPair(), generateP256KeyPair(), generateP256KeyPair()]);
  const root = await createCaCertificate({
    keys: rootKeys,
    subjectDn: `C=US, O=${label} STI-CA, CN=${label} SHAKEN ROOT`,
    notBefore: new Date(now.getTime() - 365 * DAY_MS),
    notAfter: new Date(now.getTime() + 3650 * DAY_MS),
  });
  const intermediate = await createCaCertificate({
    keys: intermediateKeys,
    subjectDn: `C=US, O=${label} STI-CA, CN=${label} SHAKEN Intermediate`,
    notBefore: new Date(now.getTime() - 30 * DAY_MS),
    notAfter: new Date(now.getTime() + 1825 * DAY_MS),
    issuer: { certificate: root, privateKey: rootKeys.privateKey },
    crl: { url: STI_PA_CRL_URL, issuerDn: STI_PA_CRL_ISSUER_DN },
    keyUsage: options.intermediateKeyUsage,
  });
  const leaf = await issueShakenCertificate({
    issuer: { certificate: intermediate, privateKey: intermediateKeys.privateKey },
    subjectPublicKey: leafKeys.publicKey,
    spc,
    legalName: options.legalName ?? `${label} Telecom LLC`,
    notBefore: options.leafNotBefore ?? new Date(now.getTime() - DAY_MS),
    notAfter: options.leafNotAfter ?? new Date(now.getTime() + 89 * DAY_MS),
    crlUrl: STI_PA_CRL_URL,
    crlIssuerDn: STI_PA_CRL_ISSUER_DN,
  });
  return { now, rootKeys, root, intermediateKeys, intermediate, leafKeys, leaf, spc };
}
