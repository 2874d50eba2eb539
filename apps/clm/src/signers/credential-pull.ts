import type { KeyObject } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { ActiveCredential, SignerGrant } from './hand-off-snapshot.js';
import { HandOffState } from './hand-off-state.js';
import { HandOutAudit } from './hand-out-audit.js';
import { entityTag, type KeyFormat, noneMatchHits, parsePullTarget } from './pull-request.js';
import { authenticateSigner } from './signer-principal.js';
import { signerErrors } from './signer-errors.js';

export interface PullRequest {
  readonly rawUrl: string;
  readonly authorization: string | string[] | undefined;
  readonly ifNoneMatch: string | string[] | undefined;
  readonly sourceAddress: string;
  readonly correlationId: string;
  /** Aborts when the client goes away (ends a long-poll early). */
  readonly signal: AbortSignal;
}

export type PullAnswer =
  | { readonly status: 200; readonly etag: string; readonly body: string }
  | { readonly status: 304; readonly etag: string }
  /** The client left during a long-poll: nothing to send. */
  | { readonly status: 'abandoned' };

/** The body of a 200 (JSON). Exactly one of privateKeyPem / privateKeyJwk is present. */
export interface CredentialDocument {
  readonly ocn: string;
  readonly certificateId: string;
  readonly x5u: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly certificateChainPem: string;
  readonly keyFormat: KeyFormat;
  readonly privateKeyPem?: string;
  readonly privateKeyJwk?: Record<string, unknown>;
}

/**
 * GET /signer/v1/credentials/{ocn}: the OCN's active certificate chain, x5u and private key for a
 * signer whose scope holds the OCN (STIR-SHAKEN.md §8). Decided entirely from the in-memory view;
 * only a 200 touches the database, to commit its audit row before the key leaves.
 *
 * Order of checks: credential (401), path and query (400), scope (404, the same answer as an
 * OCN that does not exist), an active certificate (404), the provider's signing not suspended
 * (403), the key in software custody (409), then If-None-Match (304) or the credential (200).
 * A long-poll (`wait`) parks the request while the answer would be 304 (or 404 for an OCN
 * waiting for its first certificate) and runs every check again when the OCN's answer changes,
 * so a signer disabled in the meantime gets 401, not the new key.
 */
@Injectable()
export class CredentialPull {
  constructor(
    private readonly state: HandOffState,
    private readonly audit: HandOutAudit,
  ) {}

  async answer(request: PullRequest): Promise<PullAnswer> {
    // Authentication first: an anonymous caller learns nothing, not even about path syntax.
    let signer = authenticateSigner(await this.state.view(), request.authorization);
    const target = parsePullTarget(request.rawUrl);
    const deadline = performance.now() + target.waitSeconds * 1000;
    for (;;) {
      if (!signer.ocns.has(target.ocn)) throw signerErrors.ocnNotFound(target.ocn);
      const credential = (await this.state.view()).credentials.get(target.ocn);
      // A replica shutting down answers parked polls as if their wait were over (the signer
      // re-polls another replica) rather than spin on waits that return at once.
      const remaining = this.state.isClosed ? 0 : deadline - performance.now();
      if (!credential) {
        if (remaining <= 0 || request.signal.aborted) throw signerErrors.noActiveCertificate(target.ocn);
        await this.state.waitForChange(target.ocn, undefined, remaining, request.signal);
      } else {
        if (credential.signingSuspended) throw signerErrors.signingSuspended(target.ocn);
        if (credential.key.custody !== 'software' || credential.key.sealed === null) throw signerErrors.keyNotExportable(target.ocn);
        const etag = entityTag(credential.pairTag, target.keyFormat);
        if (!noneMatchHits(request.ifNoneMatch, etag)) return this.handOut(signer, credential, target.keyFormat, etag, request);
        if (request.signal.aborted) return { status: 'abandoned' };
        if (remaining <= 0) {
          this.audit.count({ action: 'key.hand_out_unchanged', signerId: signer.id, ocn: target.ocn, certificateId: credential.certificateId, sourceAddress: request.sourceAddress });
          return { status: 304, etag };
        }
        await this.state.waitForChange(target.ocn, credential.answerTag, remaining, request.signal);
      }
      // Woken by a change (or the deadline): every check again, the credential included.
      signer = authenticateSigner(await this.state.view(), request.authorization);
    }
  }

  private async handOut(signer: SignerGrant, credential: ActiveCredential, keyFormat: KeyFormat, etag: string, request: PullRequest): Promise<PullAnswer> {
    if (request.signal.aborted) return { status: 'abandoned' };
    // Opened before the audit row is written, so a key that cannot be opened is never recorded as handed out.
    const key = this.state.privateKey(credential);
    try {
      await this.audit.recordHandOut({
        signerId: signer.id,
        ocn: credential.ocn,
        certificateId: credential.certificateId,
        keyFormat,
        sourceAddress: request.sourceAddress,
        correlationId: request.correlationId,
      });
    } catch {
      throw signerErrors.auditUnavailable();
    }
    return { status: 200, etag, body: JSON.stringify(credentialDocument(credential, key, keyFormat)) };
  }
}

function credentialDocument(credential: ActiveCredential, key: KeyObject, keyFormat: KeyFormat): CredentialDocument {
  const common = {
    ocn: credential.ocn,
    certificateId: credential.certificateId,
    x5u: credential.x5u,
    notBefore: credential.notBefore.toISOString(),
    notAfter: credential.notAfter.toISOString(),
    certificateChainPem: credential.chainPem,
    keyFormat,
  };
  // RFC 7517 §4.2-4.3: the key is for ES256 signatures only.
  if (keyFormat === 'jwk') return { ...common, privateKeyJwk: { ...key.export({ format: 'jwk' }), alg: 'ES256', use: 'sig' } };
  // SEC1 is RFC 5915 `EC PRIVATE KEY` with the named curve and the public key, as OpenSSL writes it.
  return { ...common, privateKeyPem: key.export({ format: 'pem', type: keyFormat }) as string };
}
