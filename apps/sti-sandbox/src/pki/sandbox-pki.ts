import 'reflect-metadata';
import { join } from 'node:path';
import { createCaCertificate, issueEndEntityCertificate, type IssuingAuthority, type X509Certificate } from '@app/shaken';
import { certificatePath, loadOrCreateCertificate, loadOrCreateKeyedCertificate, type KeyedCertificate } from './key-files.js';
import { issueCrlSignerCertificate } from './crl-signer-certificate.js';

/**
 * The sandbox's two authorities, created on first start and kept in the data directory:
 *
 * - STI-PA: a root (pinned by clients), a signing certificate for SPC tokens and the CA list (the
 *   `x5u` of both), and the CRL signer with the real STI-PA CRL issuer DN.
 * - STI-CA: a root (published on the STI-PA CA list) and an intermediate that issues provider
 *   certificates.
 *
 * Provider certificates name the STI-PA as their CRL issuer (CDP cRLIssuer), which makes the
 * STI-PA CRL an indirect CRL for them. RFC 5280 §6.3.3 (f) requires the CRL issuer's path to end
 * at the trust anchor of the certificate being checked, so the STI-CA root also certifies the
 * STI-PA CRL key (`sti-pa-crl-signer-by-sti-ca.pem`): with it a generic RFC 5280 validator
 * (OpenSSL `-crl_check -extended_crl`) can check revocation against the sandbox STI-CA root.
 */
export interface SandboxPki {
  stiPaRoot: KeyedCertificate;
  stiPaSigning: KeyedCertificate;
  stiPaCrlSigner: KeyedCertificate;
  stiCaRoot: KeyedCertificate;
  stiCaIntermediate: KeyedCertificate;
  /** The STI-PA CRL key certified by the STI-CA root (see above). */
  crlSignerByStiCa: { certificate: X509Certificate; certificatePath: string };
}

/** ATIS-1000080 v005 / the live STI-PA: the CRL issuer DN every provider certificate names. */
export const STI_PA_CRL_ISSUER_DN = 'L=Bridgewater, ST=NJ, CN=STI-PA CRL, C=US, O=STI-PA';

export const STI_PA_ROOT_DN = 'C=US, O=STI-PA Sandbox, CN=STI-PA Sandbox ROOT';
export const STI_PA_SIGNING_DN = 'C=US, O=STI-PA Sandbox, CN=STI-PA Sandbox Token Signing';
export const STI_CA_ROOT_DN = 'C=US, O=STI Sandbox CA, CN=STI Sandbox SHAKEN ROOT';
export const STI_CA_INTERMEDIATE_DN = 'C=US, O=STI Sandbox CA, CN=STI Sandbox SHAKEN Intermediate';

const DAY_MS = 86_400_000;

function authority(keyed: KeyedCertificate): IssuingAuthority {
  return { certificate: keyed.certificate, privateKey: keyed.keys.privateKey };
}

function validity(years: number, now: Date): { notBefore: Date; notAfter: Date } {
  // A minute of backdating absorbs clock differences between the sandbox and its clients.
  return { notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + years * 365 * DAY_MS) };
}

export async function ensureSandboxPki(dataDir: string, crlUrl: string, now: Date = new Date()): Promise<SandboxPki> {
  const dir = join(dataDir, 'pki');
  const stiPaRoot = await loadOrCreateKeyedCertificate(dir, 'sti-pa-root', (keys) =>
    createCaCertificate({ keys, subjectDn: STI_PA_ROOT_DN, ...validity(20, now), keyUsage: ['keyCertSign', 'cRLSign'] }),
  );
  const stiPaSigning = await loadOrCreateKeyedCertificate(dir, 'sti-pa-signing', (keys) =>
    issueEndEntityCertificate({ issuer: authority(stiPaRoot), subjectPublicKey: keys.publicKey, subjectDn: STI_PA_SIGNING_DN, ...validity(5, now) }),
  );
  const stiPaCrlSigner = await loadOrCreateKeyedCertificate(dir, 'sti-pa-crl-signer', (keys) =>
    issueCrlSignerCertificate({ issuer: authority(stiPaRoot), publicKey: keys.publicKey, subjectDn: STI_PA_CRL_ISSUER_DN, ...validity(5, now) }),
  );
  const stiCaRoot = await loadOrCreateKeyedCertificate(dir, 'sti-ca-root', (keys) =>
    createCaCertificate({ keys, subjectDn: STI_CA_ROOT_DN, ...validity(20, now) }),
  );
  const stiCaIntermediate = await loadOrCreateKeyedCertificate(dir, 'sti-ca-intermediate', (keys) =>
    createCaCertificate({
      keys,
      subjectDn: STI_CA_INTERMEDIATE_DN,
      ...validity(10, now),
      issuer: authority(stiCaRoot),
      crl: { url: crlUrl, issuerDn: STI_PA_CRL_ISSUER_DN },
      pathLength: 0,
    }),
  );
  const crlSignerByStiCa = await loadOrCreateCertificate(dir, 'sti-pa-crl-signer-by-sti-ca', () =>
    issueCrlSignerCertificate({
      issuer: authority(stiCaRoot),
      // The same key as the STI-PA's own CRL signer certificate: this is a second certificate for it.
      publicKey: stiPaCrlSigner.keys.publicKey,
      subjectDn: STI_PA_CRL_ISSUER_DN,
      ...validity(5, now),
    }),
  );
  return {
    stiPaRoot,
    stiPaSigning,
    stiPaCrlSigner,
    stiCaRoot,
    stiCaIntermediate,
    crlSignerByStiCa: { certificate: crlSignerByStiCa, certificatePath: certificatePath(dir, 'sti-pa-crl-signer-by-sti-ca') },
  };
}

export function issuingAuthority(keyed: KeyedCertificate): IssuingAuthority {
  return authority(keyed);
}

export type { X509Certificate };
