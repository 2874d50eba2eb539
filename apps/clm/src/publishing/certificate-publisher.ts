/**
 * The seam between the lifecycle and the STI-CR (issue 6). The lifecycle's "publish" step calls
 * `publish`; the publishing feature implements it: upload the chain to the configured store
 * under one immutable URL, then fetch that URL the way a verifier does and lint it. Only a clean
 * result returns; anything else throws a typed error and the lifecycle retries with backoff,
 * leaving the previous certificate active.
 */
export interface PublishRequest {
  readonly certificateId: string;
  /** The SPC the certificate carries (first path segment of the storage key). */
  readonly spc: string;
  /** Lowercase hex SHA-256 of the leaf DER. */
  readonly fingerprintSha256: string;
  /** Leaf first, then intermediates. */
  readonly chainPem: string;
  /** The certificate's notAfter: the URL must keep serving at least until then. */
  readonly notAfter: Date;
}

export interface PublishResult {
  readonly publicationId: string;
  readonly x5u: string;
}

export abstract class CertificatePublisher {
  abstract publish(request: PublishRequest): Promise<PublishResult>;
}
