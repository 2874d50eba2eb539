import { describe, expect, it } from 'vitest';
import { loadSandboxConfig, SandboxConfigError } from './config.js';

describe('sandbox configuration', () => {
  it('has working defaults: loopback, port 8445, 90-day certificates, RFC identifier encoding, SPKI fingerprints', () => {
    const config = loadSandboxConfig({}, '/srv');
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8445,
      dataDir: '/srv/.sti-sandbox-data',
      certValidityDays: 90,
      requireEab: false,
      acceptPaddedIdentifiers: false,
      fingerprintForm: 'spki',
      stiPaAllowList: [],
    });
  });

  it('fails naming every bad variable and never echoes the admin secret', () => {
    let error: unknown;
    try {
      loadSandboxConfig({ SANDBOX_PORT: 'https', SANDBOX_CERT_VALIDITY_DAYS: '0', SANDBOX_ADMIN_SECRET: 'short-secret', SANDBOX_FINGERPRINT_FORM: 'md5' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SandboxConfigError);
    const message = (error as Error).message;
    for (const name of ['SANDBOX_PORT', 'SANDBOX_CERT_VALIDITY_DAYS', 'SANDBOX_ADMIN_SECRET', 'SANDBOX_FINGERPRINT_FORM']) expect(message).toContain(name);
    expect(message).not.toContain('short-secret');
  });

  it('reads the STI-PA allow-list as a comma-separated list', () => {
    expect(loadSandboxConfig({ SANDBOX_STI_PA_ALLOW_LIST: ' 127.0.0.1, 10.0.0.5 ' }).stiPaAllowList).toEqual(['127.0.0.1', '10.0.0.5']);
  });
});
