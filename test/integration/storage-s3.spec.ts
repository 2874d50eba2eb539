import { createHash, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createStiCrStore,
  type S3StiCrStoreConfig,
  stiCrKeyFor,
  type StiCrKey,
  type StiCrStore,
  StorageError,
} from '@app/storage';
import { startS3rver, type S3rverInstance } from '../support/s3rver.js';

/**
 * The S3 STI-CR driver against s3rver over real HTTP (AWS SDK v3, path-style). Outages are real:
 * the s3rver process is killed (connections refused) or frozen with SIGSTOP (nothing answers).
 */

const fixtures = new URL('../../libs/storage/fixtures/', import.meta.url);
const chain = new Uint8Array(readFileSync(new URL('chain.pem', fixtures)));
const leafOnly = new Uint8Array(readFileSync(new URL('leaf.pem', fixtures)));
const leafSha256 = createHash('sha256').update(new X509Certificate(leafOnly).raw).digest();
const PREFIX = 'shaken/sti-cr/';

let s3: S3rverInstance;
const stores: StiCrStore[] = [];

beforeAll(async () => {
  s3 = await startS3rver({ bucket: 'clm-sti-cr' });
});
afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  await s3?.dispose();
});

function newStore(overrides: Partial<Omit<S3StiCrStoreConfig, 'driver'>> = {}): StiCrStore {
  const store = createStiCrStore({
    driver: 's3',
    bucket: s3.bucket,
    prefix: PREFIX,
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: s3.credentials,
    // Path-style bucket URL as the "CDN": the x5u then resolves against s3rver itself.
    publicBaseUrl: s3.objectUrl(PREFIX.slice(0, -1)),
    timeoutMs: 1_000,
    ...overrides,
  });
  stores.push(store);
  return store;
}

function randomKey(): StiCrKey {
  return stiCrKeyFor({ spc: '818H', fingerprintSha256: new Uint8Array(randomBytes(32)) });
}

async function failure(promise: Promise<unknown>): Promise<StorageError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(StorageError);
    return error as StorageError;
  }
  throw new Error('expected a StorageError, the call succeeded');
}

/** Object keys in the bucket under `prefix`, from an anonymous ListObjectsV2 over plain HTTP. */
async function listKeys(prefix: string): Promise<string[]> {
  const response = await fetch(`${s3.endpoint}/${s3.bucket}?list-type=2&prefix=${encodeURIComponent(prefix)}`);
  const xml = await response.text();
  return [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]!);
}

async function timed<T>(promise: Promise<T>): Promise<{ ms: number; result: PromiseSettledResult<T> }> {
  const started = performance.now();
  const [result] = await Promise.allSettled([promise]);
  return { ms: performance.now() - started, result: result! };
}

describe('S3 store against s3rver', () => {
  it('uploads once under <prefix><key>; a plain GET of the x5u returns the exact bytes with the verifier headers', async () => {
    const store = newStore();
    const key = stiCrKeyFor({ spc: '818H', fingerprintSha256: new Uint8Array(leafSha256) });
    const result = await store.putImmutable(key, chain);
    expect(result).toEqual({ url: s3.objectUrl(`${PREFIX}${key}`), created: true });

    // What a verifier sees: the object's own metadata served as headers, no redirect.
    const response = await fetch(result.url, { redirect: 'manual' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/pem-certificate-chain');
    expect(response.headers.get('cache-control')).toBe('public, max-age=86400');
    expect(response.headers.get('content-length')).toBe(String(chain.byteLength));
    // Byte-identical to what was uploaded: nothing added or reframed on the way.
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(chain);
    expect(await store.get(key)).toEqual(chain);
  });

  it('uploads the configured max-age', async () => {
    const store = newStore({ cacheMaxAgeSeconds: 604_800 });
    const { url } = await store.putImmutable(randomKey(), chain);
    expect((await fetch(url)).headers.get('cache-control')).toBe('public, max-age=604800');
  });

  it('answers created:false to the same bytes and IMMUTABLE_CONFLICT to different bytes, leaving the object unchanged', async () => {
    const store = newStore();
    const key = randomKey();
    const { url } = await store.putImmutable(key, chain);
    expect(await store.putImmutable(key, chain)).toEqual({ url, created: false });
    const conflict = await failure(store.putImmutable(key, leafOnly));
    expect(conflict.code).toBe('STORAGE.IMMUTABLE_CONFLICT');
    expect(new Uint8Array(await (await fetch(url)).arrayBuffer())).toEqual(chain);
  });

  it('returns null for a missing object and deletes idempotently', async () => {
    const store = newStore();
    const key = randomKey();
    expect(await store.get(key)).toBeNull();
    await store.putImmutable(key, chain);
    await store.delete(key);
    expect(await store.get(key)).toBeNull();
    expect((await fetch(store.urlFor(key))).status).toBe(404);
    await store.delete(key);
  });

  it('uploads nothing for refused bodies or keys', async () => {
    const store = newStore({ prefix: 'refusals/' });
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const withKey = await failure(store.putImmutable(randomKey(), new Uint8Array(Buffer.concat([chain, Buffer.from(pem)]))));
    expect(withKey.code).toBe('STORAGE.PRIVATE_KEY_REFUSED');
    expect(withKey.message).not.toContain(pem.split('\n')[1]);
    expect((await failure(store.putImmutable(randomKey(), new Uint8Array(9_000)))).code).toBe('STORAGE.TOO_LARGE');
    for (const raw of ['../../other-bucket/x.pem', '%2e%2e/0123456789abcdef.pem', '818H/0123456789abcdef.pem\0']) {
      expect((await failure(store.putImmutable(raw as StiCrKey, chain))).code).toBe('STORAGE.UNSAFE_KEY');
      expect((await failure(store.get(raw as StiCrKey))).code).toBe('STORAGE.UNSAFE_KEY');
      expect((await failure(store.delete(raw as StiCrKey))).code).toBe('STORAGE.UNSAFE_KEY');
    }
    expect(await listKeys('refusals/')).toEqual([]);
    expect(await listKeys('other-bucket')).toEqual([]);
  });

  it('passes the health check, and reports ACCESS_DENIED for an unknown access key without echoing the secret', async () => {
    await newStore().healthCheck();
    const denied = newStore({ credentials: { accessKeyId: 'UNKNOWNKEYID', secretAccessKey: 'sEcReT-never-logged' } });
    for (const call of [() => denied.healthCheck(), () => denied.get(randomKey()), () => denied.putImmutable(randomKey(), chain)]) {
      const error = await failure(call());
      expect(error.code).toBe('STORAGE.ACCESS_DENIED');
      expect(error.message).not.toContain('sEcReT-never-logged');
    }
  });

  it('reports NOT_FOUND for a bucket that does not exist', async () => {
    const store = newStore({ bucket: 'no-such-bucket' });
    const health = await failure(store.healthCheck());
    expect(health.code).toBe('STORAGE.NOT_FOUND');
    expect(health.message).toContain('no-such-bucket');
    expect((await failure(store.putImmutable(randomKey(), chain))).code).toBe('STORAGE.NOT_FOUND');
  });
});

describe('S3 store outages (real: the s3rver process is stopped or frozen)', () => {
  afterEach(async () => {
    // Leave a running, answering server for the next test whatever happened.
    try {
      s3.thaw();
    } catch {
      await s3.start();
    }
  });

  it('fails fast with UNAVAILABLE while s3rver is down, then publishes after it restarts on the same port', async () => {
    const store = newStore();
    const key = randomKey();
    await store.healthCheck();
    await s3.stop();

    const put = await timed(store.putImmutable(key, chain));
    expect(put.result).toMatchObject({ status: 'rejected', reason: { code: 'STORAGE.UNAVAILABLE', retryable: true } });
    expect(put.ms).toBeLessThan(3_000);
    expect((await failure(store.healthCheck())).code).toBe('STORAGE.UNAVAILABLE');
    expect((await failure(store.get(key))).code).toBe('STORAGE.UNAVAILABLE');

    await s3.start();
    await store.healthCheck();
    expect(await store.putImmutable(key, chain)).toMatchObject({ created: true });
    expect(await store.get(key)).toEqual(chain);
  });

  it('times out every call on a hung store (SIGSTOP) with UNAVAILABLE, and recovers when it answers again', async () => {
    const store = newStore({ timeoutMs: 800 });
    const key = randomKey();
    await store.healthCheck();
    s3.freeze();

    const calls: (() => Promise<unknown>)[] = [
      () => store.putImmutable(key, chain),
      () => store.get(key),
      () => store.delete(key),
      () => store.healthCheck(),
    ];
    for (const call of calls) {
      const { ms, result } = await timed(call());
      expect(result).toMatchObject({ status: 'rejected', reason: { code: 'STORAGE.UNAVAILABLE' } });
      expect((result as PromiseRejectedResult).reason.message).toContain('no answer within 800 ms');
      expect(ms).toBeGreaterThanOrEqual(700);
      expect(ms).toBeLessThan(2_500);
    }

    s3.thaw();
    // The timed-out PUT may still have landed once s3rver woke up (a real-world ambiguity):
    // the retry is then an idempotent success, never a conflict.
    const retry = await store.putImmutable(key, chain);
    expect(retry.url).toBe(store.urlFor(key));
    expect(await store.get(key)).toEqual(chain);
  });
});

/**
 * AWS S3 honours `If-None-Match: *` on PutObject (412 when the key exists); s3rver ignores it.
 * To exercise the driver's race handling over real HTTP, this proxy sits in front of s3rver and
 * adds just that behaviour: on a conditional PUT it first lets the test run a rival writer, then
 * answers 412 if the object exists, else forwards. In `unsupported` mode it answers 501 to the
 * header, as some S3-compatible stores do.
 */
class ConditionalWriteProxy {
  readonly puts: { conditional: boolean; status: number }[] = [];
  mode: 'enforce' | 'unsupported' = 'enforce';
  beforeConditionalPut: (() => Promise<void>) | undefined;
  private server!: Server;
  endpoint = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res).catch(() => res.writeHead(502).end()));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const conditional = req.method === 'PUT' && req.headers['if-none-match'] === '*';
    if (req.method === 'PUT') {
      if (conditional && this.mode === 'unsupported') {
        req.resume();
        this.puts.push({ conditional, status: 501 });
        return void sendError(res, 501, 'NotImplemented', 'A header you provided implies functionality that is not implemented');
      }
      if (conditional) {
        const hook = this.beforeConditionalPut;
        this.beforeConditionalPut = undefined;
        await hook?.();
        const head = await fetch(`${s3.endpoint}${(req.url ?? "/").split("?")[0]}`, { method: 'HEAD' });
        if (head.status === 200) {
          req.resume();
          this.puts.push({ conditional, status: 412 });
          return void sendError(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
        }
      }
    }
    const upstream = request(
      `${s3.endpoint}${req.url}`,
      { method: req.method, headers: req.headers },
      (answer) => {
        if (req.method === 'PUT') this.puts.push({ conditional, status: answer.statusCode ?? 0 });
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(upstream);
  }
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(xml) }).end(xml);
}

describe('S3 store immutability under a race (conditional writes, as AWS S3 does them)', () => {
  const proxy = new ConditionalWriteProxy();
  beforeAll(() => proxy.start());
  afterAll(() => proxy.stop());

  const viaProxy = () => newStore({ endpoint: proxy.endpoint });

  it('sends If-None-Match: * and publishes when nobody else wrote the key', async () => {
    proxy.mode = 'enforce';
    const before = proxy.puts.length;
    expect((await viaProxy().putImmutable(randomKey(), chain)).created).toBe(true);
    expect(proxy.puts.slice(before)).toEqual([{ conditional: true, status: 200 }]);
  });

  it('answers IMMUTABLE_CONFLICT when a rival wrote different bytes between our read and our PUT', async () => {
    proxy.mode = 'enforce';
    const key = randomKey();
    const rival = newStore();
    proxy.beforeConditionalPut = async () => void (await rival.putImmutable(key, leafOnly));
    const conflict = await failure(viaProxy().putImmutable(key, chain));
    expect(conflict.code).toBe('STORAGE.IMMUTABLE_CONFLICT');
    expect(proxy.puts.at(-1)).toEqual({ conditional: true, status: 412 });
    expect(await rival.get(key)).toEqual(leafOnly);
  });

  it('answers created:false when the rival wrote the same bytes (two replicas publishing one certificate)', async () => {
    proxy.mode = 'enforce';
    const key = randomKey();
    const rival = newStore();
    proxy.beforeConditionalPut = async () => void (await rival.putImmutable(key, chain));
    expect(await viaProxy().putImmutable(key, chain)).toMatchObject({ created: false });
    expect(proxy.puts.at(-1)).toEqual({ conditional: true, status: 412 });
  });

  it('drops the header for good on a store that answers 501 to it, and still publishes', async () => {
    proxy.mode = 'unsupported';
    const store = viaProxy();
    const before = proxy.puts.length;
    expect((await store.putImmutable(randomKey(), chain)).created).toBe(true);
    expect((await store.putImmutable(randomKey(), chain)).created).toBe(true);
    expect(proxy.puts.slice(before)).toEqual([
      { conditional: true, status: 501 },
      { conditional: false, status: 200 },
      { conditional: false, status: 200 },
    ]);
  });
});
