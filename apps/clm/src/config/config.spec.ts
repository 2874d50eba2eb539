import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureStiCrTls } from '../publishing/embedded/sti-cr-tls.js';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from './config.js';

/** The problems loadConfig reports for `env`, or [] when it accepts it. */
function problemsOf(env: Record<string, string>, cwd = '/x'): string[] {
  try {
    loadConfig(env, cwd);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return [...error.problems];
  }
}

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

  it('lists every variable it reads in CONFIG_VARIABLES (the README table is written from it)', () => {
    const read = new Set<string>();
    const recording = (env: Record<string, string>) => new Proxy(env, { get: (target, name: string) => (read.add(name), target[name]) });
    // Some variables are read only under a driver or a setting: each branch once.
    const branches: Record<string, string>[] = [{}, { CLM_STI_CR_DRIVER: 's3' }, { CLM_TLS_CERT_FILE: '/nonexistent/c.pem', CLM_TLS_KEY_FILE: '/nonexistent/k.pem' }];
    for (const env of branches) {
      problemsOf(recording(env));
    }
    read.delete('NODE_ENV'); // the process's, not ours
    expect([...read].filter((name) => !(CONFIG_VARIABLES as readonly string[]).includes(name))).toEqual([]);
    expect(CONFIG_VARIABLES).toEqual(expect.arrayContaining(['CLM_TLS_CERT_FILE', 'CLM_TLS_KEY_FILE', 'CLM_ALLOW_PLAINTEXT_API']));
  });
});

describe('loadConfig: the API listener (it hands out private keys)', () => {
  let dir: string;
  let cert: string;
  let key: string;
  let otherKey: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'clm-api-tls-'));
    // The local TLS issuer (@app/local-infra) writes server.pem/.key and root.pem/.key here.
    await ensureStiCrTls(dir, ['127.0.0.1', 'clm.example.net']);
    [cert, key, otherKey] = ['server.pem', 'server.key', 'root.key'].map((f) => join(dir, f));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves plain http on loopback by default, and needs nothing else there', () => {
    for (const host of ['127.0.0.1', 'localhost', '::1']) {
      expect(loadConfig({ CLM_HOST: host }, '/x').api).toEqual({ allowPlaintext: false });
    }
  });

  it.each(['0.0.0.0', '::', '10.0.0.5', 'clm.example.net'])('refuses CLM_HOST=%s without TLS, naming the variables and why', (host) => {
    const problems = problemsOf({ CLM_HOST: host });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^CLM_HOST: ${host.replace(/\./g, '\\.')} is not a loopback address and the API has no TLS`));
    for (const word of ['CLM_TLS_CERT_FILE', 'CLM_TLS_KEY_FILE', 'CLM_ALLOW_PLAINTEXT_API=true', 'private keys', 'cleartext', 'TLS-terminating proxy']) {
      expect(problems[0]).toContain(word);
    }
  });

  it('accepts plain http on a non-loopback address only with an explicit CLM_ALLOW_PLAINTEXT_API=true', () => {
    expect(loadConfig({ CLM_HOST: '0.0.0.0', CLM_ALLOW_PLAINTEXT_API: 'true' }, '/x').api).toEqual({ allowPlaintext: true });
    expect(problemsOf({ CLM_HOST: '0.0.0.0', CLM_ALLOW_PLAINTEXT_API: 'false' }).join('\n')).toMatch(/^CLM_HOST: 0\.0\.0\.0 is not a loopback/);
    expect(problemsOf({ CLM_HOST: '0.0.0.0', CLM_ALLOW_PLAINTEXT_API: 'sometimes' }).join('\n')).toContain('CLM_ALLOW_PLAINTEXT_API');
  });

  it('serves HTTPS with CLM_TLS_CERT_FILE and CLM_TLS_KEY_FILE on any address, paths relative to the working directory', () => {
    const api = loadConfig({ CLM_HOST: '0.0.0.0', CLM_TLS_CERT_FILE: 'server.pem', CLM_TLS_KEY_FILE: key }, dir).api;
    expect(api).toEqual({ tls: { certFile: cert, keyFile: key }, allowPlaintext: false });
  });

  it('wants both files or neither', () => {
    expect(problemsOf({ CLM_TLS_CERT_FILE: cert })).toEqual(['CLM_TLS_CERT_FILE, CLM_TLS_KEY_FILE: give both or neither (the API serves HTTPS with both)']);
    expect(problemsOf({ CLM_HOST: '0.0.0.0', CLM_TLS_KEY_FILE: key })).toEqual(['CLM_TLS_CERT_FILE, CLM_TLS_KEY_FILE: give both or neither (the API serves HTTPS with both)']);
  });

  it('reads and matches the files at start: unreadable, not PEM, or a key of another certificate, by name and without the key', () => {
    expect(problemsOf({ CLM_TLS_CERT_FILE: '/nonexistent/api.pem', CLM_TLS_KEY_FILE: key })).toEqual(['CLM_TLS_CERT_FILE: /nonexistent/api.pem cannot be read (ENOENT)']);
    expect(problemsOf({ CLM_TLS_CERT_FILE: key, CLM_TLS_KEY_FILE: key })).toEqual([`CLM_TLS_CERT_FILE: ${key} holds no PEM certificate`]);
    const notAKey = join(dir, 'not-a-key.pem');
    writeFileSync(notAKey, '-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ1dC1icm9rZW4=\n-----END PRIVATE KEY-----\n');
    const broken = problemsOf({ CLM_TLS_CERT_FILE: cert, CLM_TLS_KEY_FILE: notAKey });
    expect(broken).toEqual([`CLM_TLS_KEY_FILE: ${notAKey} holds no unencrypted PEM private key (value not shown)`]);
    expect(problemsOf({ CLM_TLS_CERT_FILE: cert, CLM_TLS_KEY_FILE: otherKey })).toEqual([
      `CLM_TLS_KEY_FILE: ${otherKey} is not the key of the certificate in CLM_TLS_CERT_FILE (${cert})`,
    ]);
  });
});
