import { createHash } from 'node:crypto';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { x5uFor } from '../public-base-url.js';
import { assertPublishableChain } from '../sti-cr-body.js';
import { assertSafeStiCrKey, type StiCrKey } from '../sti-cr-key.js';
import { cacheControlFor, STI_CR_CONTENT_TYPE, type StiCrPutResult, type StiCrStore } from '../sti-cr-store.js';
import type { ResolvedS3Config } from '../sti-cr-store-config.js';
import { StorageError, StorageErrorCode } from '../storage-error.js';
import {
  describeS3Failure,
  isConditionalWriteUnsupported,
  isLostConditionalWrite,
  type S3Failure,
  s3StorageError,
} from './s3-failure.js';

/** A failed SDK call, described; thrown inside `call` and turned into a StorageError there. */
class S3CallFailed extends Error {
  constructor(readonly failure: S3Failure) {
    super(failure.code);
  }
}

/**
 * STI-CR chains as S3 objects `<prefix><key>`, served publicly by a CDN or the bucket website at
 * `<publicBaseUrl>/<key>`. Each object carries the verifier headers itself (`Content-Type:
 * application/pem-certificate-chain`, `Cache-Control: public, max-age=...`), since S3 serves
 * object metadata as response headers. No ACL is sent: public read belongs to the bucket policy
 * or CDN (buckets with Object Ownership "bucket owner enforced" reject ACLs).
 *
 * Immutability. `putImmutable` first reads the key (GET, not HEAD: comparing bytes needs the
 * bytes, ETags are not MD5s under SSE-KMS, and bodies are under 8 KB). Absent: PutObject with
 * `If-None-Match: *`, so AWS S3 refuses the write atomically if another writer created the key
 * after our read (412, or 409 while that write is in flight); we then read the winner's bytes and
 * answer `created:false` (same bytes) or IMMUTABLE_CONFLICT. Stores that reject the header (501)
 * get plain PUTs from then on; stores that ignore it (s3rver, some S3-compatibles) keep a window
 * between our read and our PUT in which a concurrent writer's bytes could be overwritten. That is
 * accepted because keys are derived from the leaf's fingerprint (two writers of one key publish
 * the same certificate, normally the same bytes) and because the lifecycle fetches the x5u after
 * upload and compares it with what was issued before activating anything.
 *
 * Every call runs under one deadline (`timeoutMs`, retries included) on top of the SDK's
 * connection and request timeouts, so an unreachable or hung store fails fast as UNAVAILABLE.
 */
export class S3StiCrStore implements StiCrStore {
  readonly driver = 's3' as const;
  readonly cacheMaxAgeSeconds: number;
  readonly cacheControl: string;
  private readonly client: S3Client;
  private conditionalWrites: boolean;

  constructor(private readonly config: ResolvedS3Config) {
    this.cacheMaxAgeSeconds = config.cacheMaxAgeSeconds;
    this.cacheControl = cacheControlFor(config.cacheMaxAgeSeconds);
    this.conditionalWrites = config.conditionalWrites;
    this.client = new S3Client({
      region: config.region,
      ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
      forcePathStyle: config.forcePathStyle,
      // Unset: the SDK's standard chain (env, shared config, web identity, ECS/IMDS).
      ...(config.credentials === undefined ? {} : { credentials: config.credentials }),
      maxAttempts: config.maxAttempts,
      // Only the checksums an operation requires: the SDK's default flexible checksums travel as
      // aws-chunked trailers for streamed bodies, which s3rver and some S3-compatible stores keep
      // verbatim, framing included (TOOLCHAIN.md). Uploads carry Content-MD5 instead.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: Math.min(config.timeoutMs, 2_000),
        requestTimeout: config.timeoutMs,
        throwOnRequestTimeout: true,
      },
    });
  }

  urlFor(key: StiCrKey): string {
    return x5uFor(this.config.publicBaseUrl, assertSafeStiCrKey(key));
  }

  async putImmutable(key: StiCrKey, body: Uint8Array): Promise<StiCrPutResult> {
    const safeKey = assertSafeStiCrKey(key);
    assertPublishableChain(body);
    const url = this.urlFor(safeKey);

    const existing = await this.get(safeKey);
    if (existing !== null) return this.sameOrConflict(safeKey, existing, body, url);

    try {
      await this.upload(safeKey, body);
    } catch (error) {
      if (!(error instanceof S3CallFailed) || !isLostConditionalWrite(error.failure)) throw this.toStorageError('put', safeKey, error);
      const winner = await this.get(safeKey);
      if (winner === null) throw this.toStorageError('put', safeKey, error);
      return this.sameOrConflict(safeKey, winner, body, url);
    }
    return { url, created: true };
  }

  async get(key: StiCrKey): Promise<Uint8Array | null> {
    const safeKey = assertSafeStiCrKey(key);
    return this.call('get', safeKey, async (abortSignal) => {
      try {
        const response = await this.client.send(
          new GetObjectCommand({ Bucket: this.config.bucket, Key: this.objectKey(safeKey) }),
          { abortSignal },
        );
        if (response.Body === undefined) return new Uint8Array(0);
        return await response.Body.transformToByteArray();
      } catch (error) {
        const failure = describeS3Failure(error);
        if (failure.code === 'NoSuchKey' || (failure.status === 404 && failure.code !== 'NoSuchBucket')) return null;
        throw error;
      }
    });
  }

  async delete(key: StiCrKey): Promise<void> {
    const safeKey = assertSafeStiCrKey(key);
    await this.call('delete', safeKey, async (abortSignal) => {
      // S3 answers 204 for a missing key too, so deleting twice succeeds.
      await this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: this.objectKey(safeKey) }), {
        abortSignal,
      });
    });
  }

  /**
   * HeadBucket: proves the endpoint answers, the credentials are accepted and the bucket exists,
   * without writing (readiness probes run often; writes cost money and need clean-up).
   */
  async healthCheck(): Promise<void> {
    await this.call('reach', 'the bucket', async (abortSignal) => {
      try {
        await this.client.send(new HeadBucketCommand({ Bucket: this.config.bucket }), { abortSignal });
      } catch (error) {
        // HEAD responses have no body, so a missing bucket shows only as 404 "NotFound".
        const failure = describeS3Failure(error);
        if (failure.status === 404) throw new S3CallFailed({ status: 404, code: 'NoSuchBucket' });
        throw error;
      }
    });
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private async upload(key: StiCrKey, body: Uint8Array): Promise<void> {
    const put = (conditional: boolean) =>
      this.send(
        (abortSignal) =>
          this.client.send(
            new PutObjectCommand({
              Bucket: this.config.bucket,
              Key: this.objectKey(key),
              Body: body,
              ContentLength: body.byteLength,
              ContentType: STI_CR_CONTENT_TYPE,
              CacheControl: this.cacheControl,
              // RFC 1864: the store verifies the bytes it received (no SDK checksum is sent, see above).
              ContentMD5: createHash('md5').update(body).digest('base64'),
              ...(conditional ? { IfNoneMatch: '*' } : {}),
            }),
            { abortSignal },
          ),
      );
    try {
      await put(this.conditionalWrites);
    } catch (error) {
      if (!this.conditionalWrites || !(error instanceof S3CallFailed) || !isConditionalWriteUnsupported(error.failure)) {
        throw error;
      }
      this.conditionalWrites = false;
      await put(false);
    }
  }

  private sameOrConflict(key: StiCrKey, stored: Uint8Array, body: Uint8Array, url: string): StiCrPutResult {
    if (Buffer.from(stored).equals(body)) return { url, created: false };
    throw new StorageError(
      StorageErrorCode.IMMUTABLE_CONFLICT,
      `${key} already holds different bytes; a published x5u is never rewritten`,
    );
  }

  private objectKey(key: StiCrKey): string {
    return `${this.config.prefix}${key}`;
  }

  /** Runs one SDK call under the deadline; failures become S3CallFailed. */
  private async send<T>(action: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await action(AbortSignal.timeout(this.config.timeoutMs));
    } catch (error) {
      if (error instanceof S3CallFailed || error instanceof StorageError) throw error;
      throw new S3CallFailed(describeS3Failure(error));
    }
  }

  private async call<T>(operation: string, subject: string, action: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await this.send(action);
    } catch (error) {
      throw this.toStorageError(operation, subject, error);
    }
  }

  private toStorageError(operation: string, subject: string, error: unknown): StorageError {
    if (error instanceof StorageError) return error;
    const failure = error instanceof S3CallFailed ? error.failure : describeS3Failure(error);
    const where = subject.includes('/') ? `${this.config.prefix}${subject} in bucket ${this.config.bucket}` : `${subject} ${this.config.bucket}`;
    return s3StorageError(operation, where, failure, this.config.timeoutMs);
  }
}
