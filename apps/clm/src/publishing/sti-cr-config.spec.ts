import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config/config.js';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env, '/srv/clm');
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe('STI-CR configuration (CLM_STI_CR_*)', () => {
  it('defaults to files under the data directory served by an HTTPS listener on 127.0.0.1:8443', () => {
    const { stiCr } = loadConfig({}, '/srv/clm');
    expect(stiCr).toEqual({
      store: { driver: 'filesystem', rootDir: '/srv/clm/.clm-data/sti-cr', publicBaseUrl: 'https://127.0.0.1:8443/sti-cr', cacheMaxAgeSeconds: 86_400 },
      listener: { host: '127.0.0.1', port: 8443 },
      verifierCacheWindowDays: 30,
    });
  });

  it('derives the x5u base from the listener, with brackets for IPv6 and no port for 443', () => {
    expect(loadConfig({ CLM_STI_CR_HOST: '::1' }, '/x').stiCr.store.publicBaseUrl).toBe('https://[::1]:8443/sti-cr');
    expect(loadConfig({ CLM_STI_CR_HOST: 'cr.example.net', CLM_STI_CR_PORT: '443' }, '/x').stiCr.store.publicBaseUrl).toBe('https://cr.example.net/sti-cr');
  });

  it('takes an operator certificate and a public URL for a listener behind a proxy', () => {
    const { stiCr } = loadConfig({
      CLM_STI_CR_HOST: '0.0.0.0',
      CLM_STI_CR_PORT: '9443',
      CLM_STI_CR_PUBLIC_URL: 'https://cr.example.net/shaken',
      CLM_STI_CR_TLS_CERT_FILE: 'tls/cr.pem',
      CLM_STI_CR_TLS_KEY_FILE: 'tls/cr.key',
      CLM_STI_CR_MAX_AGE: '604800',
      CLM_STI_CR_CACHE_WINDOW_DAYS: '45',
    }, '/srv/clm');
    expect(stiCr.store).toMatchObject({ publicBaseUrl: 'https://cr.example.net/shaken', cacheMaxAgeSeconds: 604_800 });
    expect(stiCr.listener).toEqual({ host: '0.0.0.0', port: 9443, tlsCertFile: '/srv/clm/tls/cr.pem', tlsKeyFile: '/srv/clm/tls/cr.key' });
    expect(stiCr.verifierCacheWindowDays).toBe(45);
  });

  it('configures S3 without a listener and without credentials (the AWS chain provides them)', () => {
    const { stiCr } = loadConfig({
      CLM_STI_CR_DRIVER: 's3',
      CLM_STI_CR_S3_BUCKET: 'clm-sti-cr',
      CLM_STI_CR_S3_PREFIX: 'shaken/',
      CLM_STI_CR_S3_REGION: 'us-east-1',
      CLM_STI_CR_S3_ENDPOINT: 'http://127.0.0.1:4568',
      CLM_STI_CR_S3_PATH_STYLE: 'true',
      CLM_STI_CR_PUBLIC_URL: 'https://cdn.example.net/shaken',
    }, '/x');
    expect(stiCr.listener).toBeUndefined();
    expect(stiCr.store).toEqual({
      driver: 's3', bucket: 'clm-sti-cr', prefix: 'shaken/', region: 'us-east-1', endpoint: 'http://127.0.0.1:4568',
      forcePathStyle: true, publicBaseUrl: 'https://cdn.example.net/shaken', cacheMaxAgeSeconds: 86_400,
    });
    expect(JSON.stringify(stiCr)).not.toMatch(/credential|secret/i);
  });

  it('refuses x5u bases verifiers would refuse, naming the variable', () => {
    expect(problems({ CLM_STI_CR_PUBLIC_URL: 'http://cr.example.net/x' })).toEqual([expect.stringMatching(/^CLM_STI_CR_PUBLIC_URL: must use https/)]);
    expect(problems({ CLM_STI_CR_PUBLIC_URL: 'https://cr.example.net:9443/x' })).toEqual([expect.stringMatching(/^CLM_STI_CR_PUBLIC_URL: must use port 443 or 8443/)]);
    expect(problems({ CLM_STI_CR_PUBLIC_URL: 'https://cr.example.net/x?v=1' })).toEqual([expect.stringMatching(/^CLM_STI_CR_PUBLIC_URL: must not have a query/)]);
    const userinfo = problems({ CLM_STI_CR_PUBLIC_URL: 'https://u:hunter2@cr.example.net/x' });
    expect(userinfo).toEqual([expect.stringMatching(/^CLM_STI_CR_PUBLIC_URL: must not contain user information/)]);
    expect(userinfo.join()).not.toContain('hunter2');
    // Derived from the listener: a port verifiers do not use, or a wildcard address, needs a public URL.
    expect(problems({ CLM_STI_CR_PORT: '9443' })).toEqual([expect.stringMatching(/^CLM_STI_CR_PORT: must be 443 or 8443 unless CLM_STI_CR_PUBLIC_URL/)]);
    expect(problems({ CLM_STI_CR_HOST: '0.0.0.0' })).toEqual([expect.stringMatching(/^CLM_STI_CR_PUBLIC_URL: required when CLM_STI_CR_HOST is the wildcard/)]);
  });

  it('reports every bad STI-CR variable by name at once', () => {
    const found = problems({
      CLM_STI_CR_DRIVER: 's3',
      CLM_STI_CR_S3_BUCKET: 'Not_A_Bucket',
      CLM_STI_CR_S3_PREFIX: '../escape',
      CLM_STI_CR_S3_ENDPOINT: 'ftp://store',
      CLM_STI_CR_MAX_AGE: '3600',
      CLM_STI_CR_CACHE_WINDOW_DAYS: '0',
    });
    expect(found.map((p) => p.split(':')[0]).sort()).toEqual([
      'CLM_STI_CR_CACHE_WINDOW_DAYS',
      'CLM_STI_CR_MAX_AGE',
      'CLM_STI_CR_PUBLIC_URL',
      'CLM_STI_CR_S3_BUCKET',
      'CLM_STI_CR_S3_ENDPOINT',
      'CLM_STI_CR_S3_PREFIX',
      'CLM_STI_CR_S3_REGION',
    ]);
    expect(problems({ CLM_STI_CR_DRIVER: 'ftp' })).toEqual(['CLM_STI_CR_DRIVER: must be filesystem or s3 (got "ftp")']);
    expect(problems({ CLM_STI_CR_TLS_CERT_FILE: 'cr.pem' })).toEqual(['CLM_STI_CR_TLS_CERT_FILE, CLM_STI_CR_TLS_KEY_FILE: give both or neither']);
  });
});
