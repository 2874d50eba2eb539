import { sign } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { type Attestation, createPassport, identityHeader, isShakenError } from '@app/shaken';
import { Clock } from '../common/clock.js';
import { invalid } from '../common/domain-error.js';
import { HandOffState } from './hand-off-state.js';
import { HandOutAudit } from './hand-out-audit.js';
import { authenticateSigner } from './signer-principal.js';
import { signerErrors } from './signer-errors.js';

export interface PassportRequest {
  readonly authorization: string | string[] | undefined;
  /** The parsed JSON body, unchecked. */
  readonly body: unknown;
  readonly sourceAddress: string;
}

/** The answer of POST /signer/v1/passports. */
export interface SignedPassport {
  /** The PASSporT, compact JWS (RFC 8225, ppt "shaken" RFC 8588). */
  readonly passport: string;
  /** The SIP Identity header value (RFC 8224 §4.1). */
  readonly identity: string;
  readonly x5u: string;
  readonly certificateId: string;
}

interface PassportClaimsInput {
  readonly ocn: string;
  readonly attest: Attestation;
  readonly orig: string;
  readonly dest: string | string[];
  readonly origid?: string;
}

const FIELDS = new Set(['ocn', 'attest', 'orig', 'dest', 'origid']);
const OCN = /^[0-9A-Z]{4}$/;

/**
 * POST /signer/v1/passports: for signers that should not hold the key, the service signs the
 * PASSporT itself with the OCN's active key and names the active x5u, so the signer never sees
 * key material. The same credential, scope and suspension rules as the pull; `iat` is the
 * service's clock. Each signature is counted per signer and OCN (`passport.signed`), not written
 * one by one: no key leaves the service.
 */
@Injectable()
export class PassportSigning {
  constructor(
    private readonly state: HandOffState,
    private readonly audit: HandOutAudit,
    private readonly clock: Clock,
  ) {}

  async sign(request: PassportRequest): Promise<SignedPassport> {
    const snapshot = await this.state.view();
    const signer = authenticateSigner(snapshot, request.authorization);
    const input = readClaimsInput(request.body);
    if (!signer.ocns.has(input.ocn)) throw signerErrors.ocnNotFound(input.ocn);
    const credential = snapshot.credentials.get(input.ocn);
    if (!credential) throw signerErrors.noActiveCertificate(input.ocn);
    if (credential.signingSuspended) throw signerErrors.signingSuspended(input.ocn);
    const key = this.state.privateKey(credential);

    let passport: string;
    try {
      passport = await createPassport(
        { attest: input.attest, orig: input.orig, dest: input.dest, ...(input.origid !== undefined ? { origid: input.origid } : {}), iat: this.clock.now(), x5u: credential.x5u },
        // RFC 7518 §3.4: ES256 is raw R||S, which Node writes as ieee-p1363.
        { sign: async (data) => sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' }) },
      );
    } catch (error) {
      if (isShakenError(error)) throw invalid(error.code, error.message);
      throw error;
    }
    this.audit.count({ action: 'passport.signed', signerId: signer.id, ocn: input.ocn, certificateId: credential.certificateId, sourceAddress: request.sourceAddress });
    return { passport, identity: identityHeader(passport, credential.x5u), x5u: credential.x5u, certificateId: credential.certificateId };
  }
}

/** The body's shape (its claims are checked by createPassport): unknown members are refused. */
function readClaimsInput(body: unknown): PassportClaimsInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw signerErrors.requestInvalid('the body must be a JSON object {ocn, attest, orig, dest, origid?}');
  }
  const record = body as Record<string, unknown>;
  const unknown = Object.keys(record).filter((name) => !FIELDS.has(name));
  if (unknown.length > 0) throw signerErrors.requestInvalid(`unknown member(s): ${unknown.slice(0, 5).join(', ')}`);
  const { ocn, attest, orig, dest, origid } = record;
  if (typeof ocn !== 'string' || !OCN.test(ocn)) throw signerErrors.ocnMalformed();
  if (attest !== 'A' && attest !== 'B' && attest !== 'C') throw invalid('PASSPORT.INVALID_CLAIMS', 'attest must be "A", "B" or "C" (RFC 8588 §4)');
  if (typeof orig !== 'string') throw invalid('PASSPORT.INVALID_CLAIMS', 'orig must be a telephone number string');
  const destOk = typeof dest === 'string' || (Array.isArray(dest) && dest.length > 0 && dest.length <= 100 && dest.every((tn) => typeof tn === 'string'));
  if (!destOk) throw invalid('PASSPORT.INVALID_CLAIMS', 'dest must be a telephone number or a list of 1 to 100 of them');
  if (origid !== undefined && typeof origid !== 'string') throw invalid('PASSPORT.INVALID_CLAIMS', 'origid must be a UUID string');
  return { ocn, attest, orig, dest: dest as string | string[], ...(origid !== undefined ? { origid: origid as string } : {}) };
}
