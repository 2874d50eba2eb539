import { execFileSync, spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createStiCrStore,
  serveStiCr,
  stiCrKeyFor,
  type StiCrKey,
  type StiCrStore,
  StorageError,
} from '@app/storage';

/**
 * The filesystem STI-CR driver on a real directory, and `serveStiCr` behind a real node:http
 * server answered through fetch, the way a verifier (STI-VS) fetches an x5u.
 */

const fixtures = new URL('../../libs/storage/fixtures/', import.meta.url);
const chain = new Uint8Array(readFileSync(new URL('chain.pem', fixtures)));
const leafOnly = new Uint8Array(readFileSync(new URL('leaf.pem', fixtures)));
const leafSha256 = createHash('sha256').update(new X509Certificate(leafOnly).raw).digest();
const key = stiCrKeyFor({ spc: '818H', fingerprintSha256: new Uint8Array(leafSha256) });
const base = 'https://cr.example.net/sti-cr';

let workDir: string;
const roots: string[] = [];

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'clm-storage-fs-'));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

async function newStore(options: { cacheMaxAgeSeconds?: number; publicBaseUrl?: string } = {}) {
  const rootDir = join(workDir, `root-${randomBytes(4).toString('hex')}`);
  roots.push(rootDir);
  const store = createStiCrStore({ driver: 'filesystem', rootDir, publicBaseUrl: options.publicBaseUrl ?? base, ...options });
  return { store, rootDir };
}

function randomKey(spc = '818H'): StiCrKey {
  return stiCrKeyFor({ spc, fingerprintSha256: new Uint8Array(randomBytes(32)) });
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

/** Every name under `dir`, recursively, relative to it. */
async function listAll(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true });
  return entries.map(String).sort();
}

describe('filesystem store: immutable publication', () => {
  it('writes the bytes once at <root>/<SPC>/<fingerprint16>.pem, mode 0644, and returns the x5u', async () => {
    const { store, rootDir } = await newStore();
    const result = await store.putImmutable(key, chain);
    expect(result).toEqual({ url: `${base}/${key}`, created: true });
    const path = join(rootDir, ...key.split('/'));
    expect(new Uint8Array(await readFile(path))).toEqual(chain);
    expect((await stat(path)).mode & 0o777).toBe(0o644);
    expect(await store.get(key)).toEqual(chain);
    expect(await listAll(rootDir)).toEqual(['818H', key]);
  });

  it('answers created:false to the same bytes again and IMMUTABLE_CONFLICT to different bytes, leaving the file as it was', async () => {
    const { store, rootDir } = await newStore();
    await store.putImmutable(key, chain);
    expect(await store.putImmutable(key, chain)).toEqual({ url: `${base}/${key}`, created: false });
    const conflict = await failure(store.putImmutable(key, leafOnly));
    expect(conflict.code).toBe('STORAGE.IMMUTABLE_CONFLICT');
    expect(conflict.retryable).toBe(false);
    expect(await store.get(key)).toEqual(chain);
    expect(await listAll(rootDir)).toEqual(['818H', key]);
  });

  it('returns null for a missing key, deletes idempotently, and can publish again after deletion', async () => {
    const { store } = await newStore();
    expect(await store.get(key)).toBeNull();
    await store.putImmutable(key, chain);
    await store.delete(key);
    expect(await store.get(key)).toBeNull();
    await store.delete(key);
    expect((await store.putImmutable(key, leafOnly)).created).toBe(true);
    expect(await store.get(key)).toEqual(leafOnly);
  });

  it('lets exactly one of many concurrent writers of one key win; the file holds the winner bytes whole', async () => {
    const { store, rootDir } = await newStore();
    const bodies = Array.from({ length: 24 }, (_, i) => (i % 2 === 0 ? chain : leafOnly));
    const outcomes = await Promise.allSettled(bodies.map((body) => store.putImmutable(key, body)));
    const winners = outcomes.flatMap((o, i) => (o.status === 'fulfilled' && o.value.created ? [bodies[i]] : []));
    expect(winners).toHaveLength(1);
    const stored = await store.get(key);
    expect(stored).toEqual(winners[0]);
    outcomes.forEach((outcome, i) => {
      if (bodies[i] === winners[0]) expect(outcome.status).toBe('fulfilled');
      else expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'STORAGE.IMMUTABLE_CONFLICT' } });
    });
    // No temp file survives, whoever won.
    expect(await listAll(rootDir)).toEqual(['818H', key]);
  });

  it('never shows a partial file to a reader in another process while writers publish', async () => {
    const { store, rootDir } = await newStore();
    const spcDir = join(rootDir, '818H');
    await mkdir(spcDir, { recursive: true });
    // A separate process polls the directory and reads every published name as fast as it can.
    const reader = spawn(
      process.execPath,
      [
        '-e',
        `
        const fs = require('node:fs');
        const [dir, expectedHex] = process.argv.slice(1);
        const expected = Buffer.from(expectedHex, 'hex');
        let reads = 0, partial = 0, stop = false;
        process.stdin.on('data', () => { stop = true; });
        (function poll() {
          for (const name of fs.readdirSync(dir)) {
            if (name.startsWith('.')) continue;
            try { const b = fs.readFileSync(dir + '/' + name); reads++; if (!b.equals(expected)) partial++; } catch {}
          }
          if (stop) { process.stdout.write(JSON.stringify({ reads, partial })); process.exit(0); }
          setImmediate(poll);
        })();
        `,
        spcDir,
        Buffer.from(chain).toString('hex'),
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    let output = '';
    reader.stdout.on('data', (data: Buffer) => (output += data.toString()));
    const exited = new Promise<void>((resolve) => reader.on('exit', () => resolve()));

    for (let round = 0; round < 10; round++) {
      await Promise.all(Array.from({ length: 20 }, () => store.putImmutable(randomKey(), chain)));
    }
    reader.stdin.write('stop\n');
    await exited;
    const { reads, partial } = JSON.parse(output) as { reads: number; partial: number };
    expect(reads).toBeGreaterThan(0);
    expect(partial).toBe(0);
    expect((await readdir(spcDir)).filter((name) => name.startsWith('.'))).toEqual([]);
  });
});

describe('filesystem store: what it refuses to store', () => {
  const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'sec1' }) as string;

  it.each([
    ['a private key after the chain', () => Buffer.concat([chain, Buffer.from(ecKey)]), 'STORAGE.PRIVATE_KEY_REFUSED'],
    ['a body of 8 KB', () => Buffer.concat([chain, Buffer.alloc(8192 - chain.byteLength, '\n')]), 'STORAGE.TOO_LARGE'],
    ['a non-PEM body', () => Buffer.from('<html>moved</html>'), 'STORAGE.NOT_A_CHAIN'],
  ])('refuses %s and writes nothing, not even a temp file', async (_label, make, code) => {
    const { store, rootDir } = await newStore();
    const error = await failure(store.putImmutable(key, new Uint8Array(make())));
    expect(error.code).toBe(code);
    expect(error.message).not.toContain(ecKey.split('\n')[1]);
    expect(await listAll(rootDir)).toEqual([]);
  });

  const unsafe = [
    '../escape/0123456789abcdef.pem',
    '818H/../../0123456789abcdef.pem',
    '/tmp/0123456789abcdef.pem',
    '%2e%2e/0123456789abcdef.pem',
    '..%2f0123456789abcdef.pem',
    '818H/0123456789abcdef.pem\0.txt',
    '818H\\..\\0123456789abcdef.pem',
    `${'A'.repeat(4096)}/0123456789abcdef.pem`,
  ];

  it.each(unsafe)('refuses the key %j in every method, touching nothing', async (raw) => {
    const { store, rootDir } = await newStore();
    const unsafeKey = raw as StiCrKey;
    for (const call of [
      () => store.putImmutable(unsafeKey, chain),
      () => store.get(unsafeKey),
      () => store.delete(unsafeKey),
      async () => store.urlFor(unsafeKey),
    ]) {
      expect((await failure(call())).code).toBe('STORAGE.UNSAFE_KEY');
    }
    expect(await listAll(rootDir)).toEqual([]);
    expect(existsSync(join(workDir, 'escape'))).toBe(false);
  });

  it('refuses to follow a symlink planted at a key instead of reading its target', async () => {
    const { store, rootDir } = await newStore();
    const target = join(workDir, 'outside.pem');
    await writeFile(target, chain);
    await mkdir(join(rootDir, '818H'), { recursive: true });
    await symlink(target, join(rootDir, ...key.split('/')));
    const error = await failure(store.get(key));
    expect(error.code).toBe('STORAGE.UNAVAILABLE');
    expect(error.message).toContain('ELOOP');
  });
});

describe('filesystem store: outages are typed and recoverable', () => {
  it('reports UNAVAILABLE when the root directory is replaced by a file, and works again once restored', async () => {
    const { store, rootDir } = await newStore();
    await store.healthCheck();
    await rename(rootDir, `${rootDir}.moved`);
    await writeFile(rootDir, 'not a directory');

    const put = await failure(store.putImmutable(key, chain));
    expect(put.code).toBe('STORAGE.UNAVAILABLE');
    expect(put.retryable).toBe(true);
    expect((await failure(store.healthCheck())).code).toBe('STORAGE.UNAVAILABLE');
    expect((await failure(store.get(key))).code).toBe('STORAGE.UNAVAILABLE');

    await rm(rootDir);
    await rename(`${rootDir}.moved`, rootDir);
    await store.healthCheck();
    expect((await store.putImmutable(key, chain)).created).toBe(true);
  });

  // Root ignores permission bits, so for root the directory is made immutable (chattr +i) instead.
  const asRoot = process.getuid?.() === 0;
  // Probed on a scratch directory: chattr needs CAP_LINUX_IMMUTABLE and an ext2/3/4-like filesystem.
  const canChattr = asRoot && (() => {
    const probe = mkdtempSync(join(tmpdir(), 'clm-chattr-probe-'));
    try {
      execFileSync('chattr', ['+i', probe], { stdio: 'ignore' });
      execFileSync('chattr', ['-i', probe], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    } finally {
      rmSync(probe, { recursive: true, force: true });
    }
  })();
  const readOnly = (dir: string, on: boolean) =>
    asRoot ? execFileSync('chattr', [on ? '+i' : '-i', dir]) : chmodSync(dir, on ? 0o555 : 0o755);
  let lockedDir: string | undefined;
  afterEach(() => {
    if (lockedDir) readOnly(lockedDir, false);
    lockedDir = undefined;
  });

  it.skipIf(asRoot && !canChattr)('reports ACCESS_DENIED when the directory is read-only, and publishes once it is writable', async () => {
    const { store, rootDir } = await newStore();
    await store.healthCheck();
    // The SPC directory is where the temp file and the final name are created.
    await mkdir(join(rootDir, '818H'));
    lockedDir = join(rootDir, '818H');
    readOnly(lockedDir, true);

    const error = await failure(store.putImmutable(key, chain));
    expect(error.code).toBe('STORAGE.ACCESS_DENIED');
    expect(error.retryable).toBe(true);
    expect(await store.get(key)).toBeNull();

    readOnly(lockedDir, false);
    lockedDir = undefined;
    expect((await store.putImmutable(key, chain)).created).toBe(true);
  });
});

describe('serveStiCr behind a real HTTP server', () => {
  let server: Server;
  let origin: string;
  let store: StiCrStore;
  let rootDir: string;
  let longCacheStore: StiCrStore;

  beforeAll(async () => {
    ({ store, rootDir } = await newStore());
    ({ store: longCacheStore } = await newStore({ cacheMaxAgeSeconds: 172_800 }));
    server = createServer((req, res) => {
      const url = req.url ?? '/';
      // Two mounts, as the service would do it: rest of the path, undecoded, is the key.
      const mount = url.startsWith('/sti-cr/') ? { prefix: '/sti-cr/', store } : url.startsWith('/long/') ? { prefix: '/long/', store: longCacheStore } : undefined;
      if (!mount) {
        res.writeHead(404).end();
        return;
      }
      serveStiCr(mount.store, url.slice(mount.prefix.length), { method: req.method, ifNoneMatch: req.headers['if-none-match'] })
        .then((answer) => res.writeHead(answer.status, answer.headers).end(Buffer.from(answer.body)))
        .catch(() => res.writeHead(500).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await store.putImmutable(key, chain);
    await longCacheStore.putImmutable(key, chain);
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  /** A raw request: fetch would normalise `..` and `%2e%2e` segments before sending them. */
  function rawGet(path: string): Promise<{ status: number; headers: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const req = request(`${origin}/`, { path, method: 'GET' }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('answers GET with the exact bytes and exactly the headers verifiers expect', async () => {
    const response = await fetch(`${origin}/sti-cr/${key}`, { redirect: 'manual' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/pem-certificate-chain');
    expect(response.headers.get('cache-control')).toBe('public, max-age=86400');
    expect(response.headers.get('content-length')).toBe(String(chain.byteLength));
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const etag = response.headers.get('etag');
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(etag).toBe(`"${createHash('sha256').update(chain).digest('base64url')}"`);
    expect(response.headers.get('location')).toBeNull();
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(chain);
    // What a verifier then does with it: parse the leaf from the body.
    expect(new X509Certificate(Buffer.from(chain)).subject).toContain('CN=SHAKEN 818H');
  });

  it('answers HEAD with the same headers and no body', async () => {
    const get = await fetch(`${origin}/sti-cr/${key}`);
    const head = await fetch(`${origin}/sti-cr/${key}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    for (const name of ['content-type', 'cache-control', 'content-length', 'etag', 'x-content-type-options']) {
      expect(head.headers.get(name)).toBe(get.headers.get(name));
    }
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });

  it('uses the configured max-age', async () => {
    const response = await fetch(`${origin}/long/${key}`);
    expect(response.headers.get('cache-control')).toBe('public, max-age=172800');
  });

  it('answers 304 to a matching If-None-Match (cache revalidation)', async () => {
    const etag = (await fetch(`${origin}/sti-cr/${key}`)).headers.get('etag')!;
    const revalidated = await fetch(`${origin}/sti-cr/${key}`, { headers: { 'If-None-Match': etag } });
    expect(revalidated.status).toBe(304);
    expect(revalidated.headers.get('etag')).toBe(etag);
    const stale = await fetch(`${origin}/sti-cr/${key}`, { headers: { 'If-None-Match': '"other"' } });
    expect(stale.status).toBe(200);
  });

  it.each([
    ['an unknown key', () => `/sti-cr/${randomKey()}`],
    ['a trailing slash', () => `/sti-cr/${key}/`],
    ['a directory', () => '/sti-cr/818H/'],
    ['a percent-encoded key', () => `/sti-cr/${key.replace('/', '%2F')}`],
    ['a dot-dot traversal', () => '/sti-cr/../../../../etc/passwd'],
    ['an encoded traversal', () => '/sti-cr/%2e%2e/%2e%2e/etc/passwd'],
    ['a backslash traversal', () => '/sti-cr/..\\..\\etc\\passwd'],
    ['a NUL', () => `/sti-cr/${key}%00`],
    ['a query string', () => `/sti-cr/${key}?download=1`],
    ['an uppercase variant', () => `/sti-cr/${key.toUpperCase()}`],
  ])('answers 404, never a redirect, for %s', async (_label, path) => {
    const answer = await rawGet(path());
    expect(answer.status).toBe(404);
    expect(answer.headers.location).toBeUndefined();
    expect(answer.headers['cache-control']).toBe('no-store');
  });

  it('never serves a temp file left by a crashed writer', async () => {
    await writeFile(join(rootDir, '818H', '.0123456789abcdef.pem'), chain);
    expect((await rawGet('/sti-cr/818H/.0123456789abcdef.pem')).status).toBe(404);
  });

  it('refuses methods other than GET and HEAD', async () => {
    const response = await fetch(`${origin}/sti-cr/${key}`, { method: 'PUT', body: 'x' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
    expect(await store.get(key)).toEqual(chain);
  });

  it('refuses to serve a private key placed in the store behind its back (500, empty, not cached)', async () => {
    const planted = randomKey();
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    await mkdir(join(rootDir, '818H'), { recursive: true });
    await writeFile(join(rootDir, ...planted.split('/')), Buffer.concat([chain, Buffer.from(pem)]));
    const response = await fetch(`${origin}/sti-cr/${planted}`);
    expect(response.status).toBe(500);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.text()).toBe('');
  });

  it('answers 503, not cached, while the store is down, and 200 once it is back', async () => {
    const { store: flaky, rootDir: flakyRoot } = await newStore();
    await flaky.putImmutable(key, chain);
    await rename(flakyRoot, `${flakyRoot}.away`);
    await writeFile(flakyRoot, 'not a directory');
    const down = await serveStiCr(flaky, key);
    expect(down.status).toBe(503);
    expect(down.headers['Cache-Control']).toBe('no-store');
    await rm(flakyRoot);
    await rename(`${flakyRoot}.away`, flakyRoot);
    const up = await serveStiCr(flaky, key);
    expect(up.status).toBe(200);
    expect(up.body).toEqual(chain);
  });
});
