import 'reflect-metadata';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stiCrDispatcher } from '@app/shaken';
import type { Agent } from 'undici';
import type { CertificateView } from '../../apps/clm/src/certificates/certificate-views.js';
import type { PublicationView } from '../../apps/clm/src/publishing/publication-views.js';
import { startClm, type ClmProcess } from '../support/clm-process.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { fetchAsVerifier, ok, onboardOverApi, opensslVerify, passportRoundTrip, serviceEnv, waitForCertificate } from '../support/publishing-e2e.js';
import { startSandboxProcess, type SandboxProcess } from '../support/sandbox.js';
import { TestStiCa } from '../support/shaken-test-ca.js';
import { stiCrLoopbackHost } from '../support/sti-cr-loopback.js';

/**
 * The embedded default end to end: the compiled service as a real process, procuring from the
 * sandbox STI-CA (its own process) and publishing to its filesystem STI-CR, which it serves itself
 * over HTTPS on port 8443 (a loopback address of its own here) with a TLS root it made on first
 * start and keeps under the data directory.
 */
describe('filesystem STI-CR in the running service (e2e)', () => {
  let db: TestDatabase;
  let sandbox: SandboxProcess;
  let dataDir: string;
  let clm: ClmProcess;
  let dispatcher: Agent;
  let env: Record<string, string>;

  beforeAll(async () => {
    [db, sandbox] = await Promise.all([createTestDatabase(), startSandboxProcess()]);
    dataDir = mkdtempSync(join(tmpdir(), 'clm-e2e-sti-cr-'));
    env = serviceEnv({ databaseUrl: db.url, dataDir, sandbox });
    clm = await startClm(env);
    dispatcher = stiCrDispatcher({ caPem: readFileSync(join(dataDir, 'sti-cr-tls', 'root.pem'), 'utf8') });
  });
  afterAll(async () => {
    await dispatcher?.close();
    await clm?.stop();
    await sandbox?.stop();
    await db?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('procures a certificate, serves it at https://<host>:8443/sti-cr/..., and a verifier accepts it', async () => {
    const host = stiCrLoopbackHost(dataDir);
    expect(clm.output()).toContain('STI-CR serving certificate chains');
    expect(clm.output()).toContain(`https://${host}:8443/sti-cr`);
    expect(statSync(join(dataDir, 'sti-cr-tls', 'server.key')).mode & 0o777).toBe(0o600);

    const target = await onboardOverApi(clm, sandbox);
    const requested = await ok<CertificateView>(clm, 'POST', '/api/v1/certificates', target);
    const active = await waitForCertificate(clm, requested.id, (v) => v.state === 'active' || v.state === 'failed');
    expect(active.state).toBe('active');
    expect(active.x5u).toMatch(new RegExp(`^https://${host.replaceAll('.', '\\.')}:8443/sti-cr/${target.ocn}/[0-9a-f]{16}\\.pem$`));

    const served = await fetchAsVerifier(active.x5u!, dispatcher);
    expect(served.findings).toEqual([]);
    expect(served.fetched.headers['content-type']).toBe('application/pem-certificate-chain');
    expect(served.fetched.headers['cache-control']).toBe('public, max-age=86400');

    const { stdout, leafFile } = await opensslVerify(served.chainPem, sandbox.stiCaRootPem);
    expect(stdout).toBe(`${leafFile}: OK`);
    expect(await passportRoundTrip({ databaseUrl: db.url, certificateId: active.id, x5u: active.x5u!, rootPem: sandbox.stiCaRootPem, dispatcher })).toBe(target.ocn);

    const publications = await ok<PublicationView[]>(clm, 'GET', `/api/v1/publications?certificateId=${active.id}`);
    expect(publications).toMatchObject([{ url: active.x5u, driver: 'filesystem', lastCheckOk: true }]);
    // The file is under the data directory, exactly the bytes served.
    expect(readFileSync(join(dataDir, 'sti-cr', publications[0]!.storageKey), 'utf8')).toBe(served.chainPem);
  });

  it('imports a certificate obtained outside the service (from an STI-CA on the STI-PA CA list) over the API; after a restart the same x5u serves the same bytes under the same TLS root', async () => {
    const ca = await TestStiCa.fromSandbox(sandbox);
    const target = await onboardOverApi(clm, sandbox);
    const issued = await ca.issue(target.ocn);
    const imported = await ok<{ certificate: CertificateView }>(clm, 'POST', '/api/v1/certificates/import', {
      ...target, chainPem: issued.chainPem, privateKeyPem: issued.privateKeyPem,
    });
    const active = await waitForCertificate(clm, imported.certificate.id, (v) => v.state === 'active' || v.order?.lastErrorCode != null);
    expect(active.state).toBe('active');
    const before = await fetchAsVerifier(active.x5u!, dispatcher);
    expect(before.findings).toEqual([]);
    expect(before.chainPem).toBe(issued.chainPem);
    expect((await opensslVerify(before.chainPem, ca.rootPem)).stdout).toMatch(/: OK$/);
    expect(clm.output()).not.toContain(issued.privateKeyPem.split('\n')[1]!);

    await clm.stop();
    clm = await startClm(env);
    const after = await fetchAsVerifier(active.x5u!, dispatcher);
    expect(after.fetched.status).toBe(200);
    expect(after.chainPem).toBe(issued.chainPem);
  });
});
