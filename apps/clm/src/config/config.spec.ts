import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('gives the embedded defaults for an empty environment', () => {
    const config = loadConfig({}, '/srv/clm');
    expect(config).toMatchObject({
      databaseUrl: undefined,
      dataDir: '/srv/clm/.clm-data',
      masterKeyFile: '/srv/clm/.clm-data/master.key',
      host: '127.0.0.1',
      port: 8080,
      logLevel: 'info',
      jobsEnabled: true,
      sandbox: 'embedded',
    });
  });

  it('accepts a 32-byte key in hex or base64 and an external database', () => {
    const hex = 'ab'.repeat(32);
    const b64 = Buffer.alloc(32, 7).toString('base64');
    const config = loadConfig({ CLM_MASTER_KEY: hex, CLM_PREVIOUS_MASTER_KEYS: `${b64}`, DATABASE_URL: 'postgresql://u@db:5432/clm' }, '/x');
    expect(config.masterKey).toBe(hex);
    expect(config.previousMasterKeys).toEqual([b64]);
    expect(config.databaseUrl).toBe('postgresql://u@db:5432/clm');
    // A real database means a real deployment: the sandbox (and its private roots) only if asked.
    expect(config.sandbox).toBe('off');
    expect(loadConfig({ DATABASE_URL: 'postgresql://u@db/clm', CLM_SANDBOX: 'embedded' }, '/x').sandbox).toBe('embedded');
  });

  it('reports every bad variable at once, by name, without echoing secrets', () => {
    let error: unknown;
    try {
      loadConfig({
        CLM_PORT: '70000',
        CLM_JOBS_ENABLED: 'maybe',
        CLM_MASTER_KEY: 'hunter2',
        CLM_ADMIN_TOKEN: 'tooshort',
        DATABASE_URL: 'mysql://x',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['CLM_PORT', 'CLM_JOBS_ENABLED', 'CLM_MASTER_KEY', 'CLM_ADMIN_TOKEN', 'DATABASE_URL']) {
      expect(problems).toContain(name);
    }
    expect(problems).not.toContain('hunter2');
    expect(problems).not.toContain('tooshort');
  });

  it('reads the procurement worker settings, and the halt test hook only in its exact form', () => {
    expect(loadConfig({}, '/x').procurement).toEqual({
      pollIntervalMs: 5_000, concurrency: 4, leaseMs: 300_000, backoffBaseMs: 3_600_000, backoffCapMs: 86_400_000, maxAttempts: 10,
    });
    const set = loadConfig({ NODE_ENV: 'test', CLM_PROCUREMENT_LEASE_MS: '2000', CLM_TEST_HOOK_HALT_ORDER: 'before:order_created' }, '/x').procurement;
    expect(set.leaseMs).toBe(2000);
    expect(set.testHookHaltOrder).toEqual({ when: 'before', state: 'order_created' });
    expect(() => loadConfig({ NODE_ENV: 'test', CLM_TEST_HOOK_HALT_ORDER: 'after:nowhere' })).toThrow(/CLM_TEST_HOOK_HALT_ORDER/);
    expect(() => loadConfig({ NODE_ENV: 'test', CLM_TEST_HOOK_HALT_ORDER: 'before:key_generated' })).toThrow(/CLM_TEST_HOOK_HALT_ORDER/);
    expect(() => loadConfig({ CLM_PROCUREMENT_BACKOFF_BASE_MS: '7200000', CLM_PROCUREMENT_BACKOFF_CAP_MS: '3600000' })).toThrow(/CLM_PROCUREMENT_BACKOFF_CAP_MS/);
  });

  it('refuses the halt test hook outside a test run, so a stray variable cannot freeze production', () => {
    for (const env of [{}, { NODE_ENV: 'production' }, { NODE_ENV: 'production', CLM_ENABLE_TEST_HOOKS: '0' }]) {
      expect(() => loadConfig({ ...env, CLM_TEST_HOOK_HALT_ORDER: 'after:order_created' }, '/x')).toThrow(/CLM_TEST_HOOK_HALT_ORDER: a test hook; set only in tests/);
    }
    const enabled = loadConfig({ NODE_ENV: 'production', CLM_ENABLE_TEST_HOOKS: '1', CLM_TEST_HOOK_HALT_ORDER: 'after:order_created' }, '/x');
    expect(enabled.procurement.testHookHaltOrder).toEqual({ when: 'after', state: 'order_created' });
    // The switch alone changes nothing.
    expect(loadConfig({ CLM_ENABLE_TEST_HOOKS: '1' }, '/x').procurement.testHookHaltOrder).toBeUndefined();
  });

  it('checks trust files and the master key at boot, naming the variable', () => {
    let error: unknown;
    try {
      loadConfig({
        CLM_STI_PA_ROOTS_FILE: '/nonexistent/sti-pa-root.pem',
        CLM_TLS_CA_FILE: '/etc/hostname',
        // Decodes to 32 bytes but is not a form the keystore accepts: config must agree with it.
        CLM_MASTER_KEY: `${Buffer.alloc(32, 1).toString('base64').replace(/=$/, '')}==`,
      }, '/x');
    } catch (e) {
      error = e;
    }
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/CLM_STI_PA_ROOTS_FILE: \/nonexistent\/sti-pa-root.pem cannot be read \(ENOENT\)/);
    expect(problems).toMatch(/CLM_TLS_CA_FILE: \/etc\/hostname holds no PEM certificate/);
    expect(problems).toContain('CLM_MASTER_KEY');
  });
});
