import { describe, expect, it } from 'vitest';
import { createStiCrStore } from './create-sti-cr-store.js';
import { assertSafeStiCrKey } from './sti-cr-key.js';
import { parseStiCrStoreConfig, type StiCrStoreConfig } from './sti-cr-store-config.js';
import { StorageError } from './storage-error.js';

const filesystem = { driver: 'filesystem', rootDir: '/var/lib/clm/sti-cr', publicBaseUrl: 'https://cr.example.net/sti-cr' };
const s3 = {
  driver: 's3',
  bucket: 'sti-cr.example-net',
  region: 'us-east-1',
  publicBaseUrl: 'https://cdn.example.net/certs',
};

function issuesOf(input: unknown): Record<string, string> {
  try {
    parseStiCrStoreConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).code).toBe('STORAGE.CONFIG_INVALID');
    return Object.fromEntries((error as StorageError).issues.map((i) => [i.field, i.problem]));
  }
  throw new Error('expected STORAGE.CONFIG_INVALID, the configuration was accepted');
}

describe('parseStiCrStoreConfig: filesystem', () => {
  it('fills in the 24 h cache default and drops a trailing slash from the base URL', () => {
    expect(parseStiCrStoreConfig({ ...filesystem, publicBaseUrl: 'https://cr.example.net/sti-cr/' })).toEqual({
      ...filesystem,
      cacheMaxAgeSeconds: 86_400,
    });
  });

  it('names every bad field at once', () => {
    expect(issuesOf({ driver: 'filesystem', rootDir: 'relative/dir', cacheMaxAgeSeconds: 3600, bucket: 'x' })).toEqual({
      'filesystem.rootDir': 'must be an absolute path',
      'filesystem.publicBaseUrl': 'is required (absolute URL)',
      'filesystem.cacheMaxAgeSeconds': 'must be an integer from 86400 to 31536000 (verifiers cache an x5u for at least 24 h)',
      'filesystem.bucket': 'is not a filesystem driver field',
    });
  });

  it('ignores fields of the other driver that are undefined (one config object for both)', () => {
    expect(parseStiCrStoreConfig({ ...filesystem, bucket: undefined }).driver).toBe('filesystem');
  });
});

describe('parseStiCrStoreConfig: the x5u base URL follows what verifiers fetch', () => {
  it.each([
    ['http on a public host', 'http://cr.example.net/sti-cr', 'must use https (verifiers fetch x5u over TLS only)'],
    ['port 8080', 'https://cr.example.net:8080/sti-cr', 'must use port 443 or 8443 (verifiers refuse other ports)'],
    ['userinfo', 'https://user:pw@cr.example.net/sti-cr', 'must not contain userinfo'],
    ['a query', 'https://cr.example.net/sti-cr?v=1', 'must not contain a query'],
    ['a fragment', 'https://cr.example.net/sti-cr#x', 'must not contain a fragment'],
    ['a relative URL', '/sti-cr', 'is not an absolute URL'],
  ])('refuses %s', (_label, publicBaseUrl, problem) => {
    expect(issuesOf({ ...filesystem, publicBaseUrl })['filesystem.publicBaseUrl']).toBe(problem);
  });

  it.each(['https://cr.example.net:8443/sti-cr', 'http://127.0.0.1:3000/sti-cr', 'http://[::1]:3000/sti-cr', 'http://localhost/x'])(
    'accepts %s',
    (publicBaseUrl) => {
      expect(parseStiCrStoreConfig({ ...filesystem, publicBaseUrl }).publicBaseUrl).toBe(publicBaseUrl);
    },
  );
});

describe('parseStiCrStoreConfig: s3', () => {
  it('fills in defaults: no prefix, virtual-hosted style, standard credential chain, 5 s deadline, conditional writes', () => {
    expect(parseStiCrStoreConfig(s3)).toEqual({
      ...s3,
      prefix: '',
      endpoint: undefined,
      forcePathStyle: false,
      credentials: undefined,
      cacheMaxAgeSeconds: 86_400,
      timeoutMs: 5_000,
      maxAttempts: 3,
      conditionalWrites: true,
    });
  });

  it('adds the trailing slash to a prefix and keeps explicit settings', () => {
    const resolved = parseStiCrStoreConfig({
      ...s3,
      prefix: 'shaken/sti-cr',
      endpoint: 'http://127.0.0.1:4568',
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' },
      cacheMaxAgeSeconds: 172_800,
      timeoutMs: 1_000,
      maxAttempts: 1,
      conditionalWrites: false,
    });
    expect(resolved).toMatchObject({ prefix: 'shaken/sti-cr/', forcePathStyle: true, cacheMaxAgeSeconds: 172_800 });
  });

  it('names the bad s3 fields', () => {
    expect(
      issuesOf({
        driver: 's3',
        bucket: 'Bad_Bucket',
        prefix: '../escape',
        endpoint: 'ftp://x',
        forcePathStyle: 'yes',
        timeoutMs: 0,
        maxAttempts: 11,
        publicBaseUrl: 'https://cdn.example.net/c',
      }),
    ).toEqual({
      's3.bucket': 'must be a bucket name: 3-63 lowercase letters, digits, dots and hyphens',
      's3.prefix': 'must be /-separated segments of letters, digits, ".", "_" and "-" (no leading "/", no "." segments)',
      's3.region': 'is required, e.g. "us-east-1"',
      's3.endpoint': 'must be an http(s) URL without userinfo',
      's3.forcePathStyle': 'must be a boolean',
      's3.timeoutMs': 'must be an integer from 100 to 120000',
      's3.maxAttempts': 'must be an integer from 1 to 10',
    });
  });

  it.each(['/absolute', 'a//b', './x', 'a/../b'])('refuses the prefix %j', (prefix) => {
    expect(Object.keys(issuesOf({ ...s3, prefix }))).toEqual(['s3.prefix']);
  });

  it('names missing credential parts without echoing any credential value', () => {
    try {
      parseStiCrStoreConfig({ ...s3, credentials: { accessKeyId: 'AKIAEXAMPLEVALUE', secretAccessKey: '' } });
      expect.unreachable();
    } catch (error) {
      const e = error as StorageError;
      expect(e.issues).toEqual([{ field: 's3.credentials.secretAccessKey', problem: 'is required when credentials are given' }]);
      expect(e.message).not.toContain('AKIAEXAMPLEVALUE');
    }
  });

  it('refuses an unknown driver', () => {
    expect(issuesOf({ driver: 'gcs' })).toEqual({ driver: 'must be "filesystem" or "s3", got "gcs"' });
    expect(issuesOf(undefined)).toEqual({ driver: 'configuration must be an object' });
  });
});

describe('createStiCrStore', () => {
  const key = assertSafeStiCrKey('818H/0123456789abcdef.pem');

  it('builds the filesystem store, whose x5u is the base URL plus the key', async () => {
    const store = createStiCrStore({ driver: 'filesystem', rootDir: '/tmp/none', publicBaseUrl: 'https://cr.example.net/sti-cr/' });
    expect(store.driver).toBe('filesystem');
    expect(store.cacheControl).toBe('public, max-age=86400');
    expect(store.urlFor(key)).toBe('https://cr.example.net/sti-cr/818H/0123456789abcdef.pem');
    await store.close();
  });

  it('builds the s3 store; its x5u ignores the bucket prefix (the CDN serves the prefix at the base URL)', async () => {
    const store = createStiCrStore({ driver: 's3', bucket: 'b-1', prefix: 'p', region: 'us-east-1', publicBaseUrl: 'https://cdn.example.net', cacheMaxAgeSeconds: 604_800 });
    expect(store.driver).toBe('s3');
    expect(store.cacheControl).toBe('public, max-age=604800');
    expect(store.urlFor(key)).toBe('https://cdn.example.net/818H/0123456789abcdef.pem');
    await store.close();
  });

  it('re-checks keys in urlFor', () => {
    const store = createStiCrStore({ driver: 'filesystem', rootDir: '/tmp/none', publicBaseUrl: 'https://cr.example.net' });
    expect(() => store.urlFor('../x' as typeof key)).toThrow(expect.objectContaining({ code: 'STORAGE.UNSAFE_KEY' }));
  });

  it('refuses an invalid configuration before building anything', () => {
    expect(() => createStiCrStore({ driver: 's3' } as unknown as StiCrStoreConfig)).toThrow(expect.objectContaining({ code: 'STORAGE.CONFIG_INVALID' }));
  });
});
