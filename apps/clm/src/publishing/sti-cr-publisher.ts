import { Inject, Injectable, Logger } from '@nestjs/common';
import { isShakenError, parseCertificateChain, type X509Certificate } from '@app/shaken';
import { isStorageError, stiCrKeyFor, type StiCrKey } from '@app/storage';
import { CLM_CONFIG } from '../config/config.module.js';
import type { ClmConfig } from '../config/config.js';
import { CertificatePublisher, type PublishRequest, type PublishResult } from './certificate-publisher.js';
import { certificateSha256, chainOrderProblem } from './chain-order.js';
import { PublicationChecker } from './publication-checker.js';
import { PublicationLedger } from './publication-ledger.js';
import { PublishingError, PublishingErrorCode } from './publishing-errors.js';
import { StiCrAccess } from './sti-cr-access.js';

const DAY_MS = 86_400_000;

/**
 * The lifecycle's STI-CR publisher (issue 6). For one certificate:
 *
 * 1. upload leaf + intermediates, exactly as issued, under the one key derived from the leaf's
 *    fingerprint (`<SPC>/<16 hex>.pem`): one immutable URL per certificate, so a retry after a
 *    crash lands on the same URL and bytes behind a URL never change (STIR-SHAKEN.md §6);
 * 2. record the Publication (kept until notAfter + the verifier cache window);
 * 3. fetch the x5u over the network as a verifier would and lint the answer.
 *
 * Only a clean check returns. A store failure is STI_CR.UPLOAD_FAILED (nothing published, no
 * row); a URL verifiers could not use is STI_CR.CHECK_FAILED with the findings. Either way the
 * lifecycle keeps the previous certificate active and retries with backoff.
 */
@Injectable()
export class StiCrPublisher extends CertificatePublisher {
  private readonly logger = new Logger('StiCrPublisher');

  constructor(
    private readonly access: StiCrAccess,
    private readonly ledger: PublicationLedger,
    private readonly checker: PublicationChecker,
    @Inject(CLM_CONFIG) private readonly config: ClmConfig,
  ) {
    super();
  }

  async publish(request: PublishRequest): Promise<PublishResult> {
    const body = publishableBody(request);
    const key = this.keyFor(request);
    const { store } = this.access;
    let url: string;
    try {
      ({ url } = await store.putImmutable(key, body));
    } catch (error) {
      if (!isStorageError(error)) throw error;
      throw new PublishingError(
        PublishingErrorCode.UPLOAD_FAILED,
        `uploading the chain of certificate ${request.certificateId} to the ${store.driver} STI-CR store failed: ${error.code}: ${error.message}`,
        { storageCode: error.code },
      );
    }
    const publication = await this.ledger.recordUpload({
      certificateId: request.certificateId,
      driver: store.driver,
      storageKey: key,
      url,
      // STIR-SHAKEN.md §6: verifiers cache an x5u up to 30 days, so it keeps serving that long
      // after the certificate's notAfter.
      removeAfter: new Date(request.notAfter.getTime() + this.config.stiCr.verifierCacheWindowDays * DAY_MS),
    });
    const { result } = await this.checker.check(publication, request.chainPem, 'publish');
    if (!result.ok) {
      const errors = result.findings.filter((f) => f.severity === 'error');
      this.logger.warn({ msg: 'published x5u failed the verifier check', certificateId: request.certificateId, url, errors: errors.map((f) => f.code) });
      throw new PublishingError(
        PublishingErrorCode.CHECK_FAILED,
        `the x5u ${url} does not serve the chain the way verifiers need: ${errors.map((f) => `${f.code} (${f.message})`).join('; ')}`.slice(0, 900),
        { url, findings: result.findings },
      );
    }
    return { publicationId: publication.id, x5u: url };
  }

  private keyFor(request: PublishRequest): StiCrKey {
    try {
      return stiCrKeyFor({ spc: request.spc, fingerprintSha256: request.fingerprintSha256 });
    } catch (error) {
      if (!isStorageError(error)) throw error;
      throw new PublishingError(PublishingErrorCode.CHAIN_INVALID, `certificate ${request.certificateId} cannot be stored: ${error.message}`);
    }
  }
}

/**
 * The bytes to publish: the chain exactly as issued, after making sure it is the certificate the
 * request names and in verifier order. The store itself refuses keys, oversize and non-PEM bodies.
 */
function publishableBody(request: PublishRequest): Uint8Array {
  let chain: X509Certificate[];
  try {
    chain = parseCertificateChain(request.chainPem);
  } catch (error) {
    if (!isShakenError(error)) throw error;
    throw new PublishingError(PublishingErrorCode.CHAIN_INVALID, `the chain of certificate ${request.certificateId} cannot be read: ${error.message}`);
  }
  const [leaf] = chain;
  if (leaf === undefined || certificateSha256(leaf) !== request.fingerprintSha256.toLowerCase()) {
    throw new PublishingError(PublishingErrorCode.CHAIN_INVALID, `the chain of certificate ${request.certificateId} does not start with that certificate`);
  }
  const problem = chainOrderProblem(chain);
  if (problem) throw new PublishingError(PublishingErrorCode.CHAIN_INVALID, `the chain of certificate ${request.certificateId} is not in verifier order: ${problem}`);
  return new Uint8Array(Buffer.from(request.chainPem, 'utf8'));
}
