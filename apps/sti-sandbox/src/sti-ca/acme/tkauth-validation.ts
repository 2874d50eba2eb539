import { certificateToPem, isShakenError, jwkThumbprint, stiPaFingerprint, verifySpcToken } from '@app/shaken';
import type { SandboxUrls } from '../../common/sandbox-urls.js';
import type { SandboxPki } from '../../pki/sandbox-pki.js';
import { AcmeProblem, type AcmeErrorType } from './acme-problem.js';
import type { SpcTokenCheck } from './challenges.js';

/** Which form of the account-key fingerprint this STI-CA expects in `atc.fingerprint`. */
export type FingerprintForm = 'spki' | 'jwk_thumbprint';

// What each verification failure becomes in the challenge's error (RFC 8555 §6.7).
const PROBLEM_FOR_CODE: Record<string, AcmeErrorType> = {
  'SPC_TOKEN.MALFORMED': 'malformed',
  'SPC_TOKEN.UNSUPPORTED_ALG': 'malformed',
  'SPC_TOKEN.X5U_FETCH_FAILED': 'unauthorized',
  'SPC_TOKEN.BAD_SIGNATURE': 'unauthorized',
  'SPC_TOKEN.UNTRUSTED_ISSUER': 'unauthorized',
  'SPC_TOKEN.EXPIRED': 'unauthorized',
  'SPC_TOKEN.TKVALUE_MISMATCH': 'incorrectResponse',
  'SPC_TOKEN.FINGERPRINT_MISMATCH': 'incorrectResponse',
  'SPC_TOKEN.CA_MISMATCH': 'incorrectResponse',
};

/**
 * The STI-CA's check of a tkauth-01 answer (RFC 9447 §4, ATIS-1000080 v005 §6.3.5) with
 * @app/shaken's verifier: signature by the certificate at x5u, which must be the STI-PA's and
 * chain to the STI-PA root; exp in the future; tkvalue equal to the authorization's TNAuthList;
 * fingerprint equal to the requesting account's key; ca false (this CA issues end-entity
 * certificates only). The problem detail starts with the verifier's stable code.
 */
export function createSpcTokenCheck(pki: SandboxPki, urls: SandboxUrls, fingerprintForm: FingerprintForm): SpcTokenCheck {
  const signingChain = certificateToPem(pki.stiPaSigning.certificate);
  return async (token, expected) => {
    const fingerprint = fingerprintForm === 'spki' ? await stiPaFingerprint(expected.accountKey) : await jwkThumbprint(expected.accountKey);
    try {
      await verifySpcToken(token, {
        // An STI-CA only takes the signing certificate from the STI-PA; the sandbox is that STI-PA.
        fetchCertificate: async (x5u) => {
          if (x5u !== urls.stiPaSigningCertificate) throw new Error('x5u does not point at the STI-PA');
          return signingChain;
        },
        trustAnchors: [pki.stiPaRoot.certificate],
        expected: { tkvalue: expected.tnAuthList, fingerprint, ca: false },
        now: expected.now,
      });
    } catch (error) {
      if (!isShakenError(error)) throw error;
      throw new AcmeProblem(PROBLEM_FOR_CODE[error.code] ?? 'unauthorized', `${error.code}: ${error.message}`);
    }
  };
}
