import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
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
import { startS3rver, type S3rverInstance } from '../support/s3rver.js';
import { startSandboxProcess, type SandboxProcess } from '../support/sandbox.js';
import { startStiCrFront, type StiCrFront } from '../support/sti-cr-front.js';

const PREFIX = 'stir-shaken/';

/**
 * The S3 driver end to end: the compiled service as a real process, credentials from the
 * standard AWS chain (environment), uploading to s3rver (its own process), x5u served by a real
 * HTTPS front on loopback:8443 as a CDN would. A store outage while a new certificate publishes
 * leaves the current one active; publishing completes when the store is back.
 */
describe('S3 STI-CR in the running service (e2e)', () => {
  let db: TestDatabase;
  let sandbox: SandboxProcess;
  let s3: S3rverInstance;
  let front: StiCrFront;
  let dataDir: string;
  let clm: ClmProcess;
  let dispatcher: Agent;

  beforeAll(async () => {
    [db, sandbox, s3] = await Promise.all([createTestDatabase(), startSandboxProcess(), startS3rver({ bucket: 'e2e-sti-cr' })]);
    front = await startStiCrFront(s3.objectUrl(PREFIX));
    dataDir = mkdtempSync(join(tmpdir(), 'clm-e2e-s3-'));
    clm = await startClm(serviceEnv({
      databaseUrl: db.url,
      dataDir,
      sandbox,
      tlsCaFiles: [front.tlsRootFile],
      extra: {
        CLM_STI_CR_DRIVER: 's3',
        CLM_STI_CR_S3_BUCKET: s3.bucket,
        CLM_STI_CR_S3_PREFIX: PREFIX,
        CLM_STI_CR_S3_REGION: s3.region,
        CLM_STI_CR_S3_ENDPOINT: s3.endpoint,
        CLM_STI_CR_S3_PATH_STYLE: 'true',
        CLM_STI_CR_PUBLIC_URL: front.baseUrl,
        AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
        // Short backoff so the retry after the outage happens within the test.
        CLM_PROCUREMENT_BACKOFF_BASE_MS: '1500',
        CLM_PROCUREMENT_BACKOFF_CAP_MS: '3000',
      },
    }));
    dispatcher = stiCrDispatcher({ caPem: front.tlsRootPem });
  });
  afterAll(async () => {
    await dispatcher?.close();
    await clm?.stop();
    await front?.close();
    await s3?.dispose();
    await sandbox?.stop();
    await db?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('publishes to the bucket, the x5u on the CDN passes the linter, OpenSSL and a PASSporT check; an outage leaves the current certificate active', async () => {
    expect(clm.output()).not.toContain('STI-CR serving certificate chains');
    const target = await onboardOverApi(clm, sandbox);
    const first = await ok<CertificateView>(clm, 'POST', '/api/v1/certificates', target);
    const active = await waitForCertificate(clm, first.id, (v) => v.state === 'active' || v.state === 'failed');
    expect(active.state).toBe('active');
    expect(active.x5u).toMatch(new RegExp(`^${front.baseUrl}/${target.ocn}/[0-9a-f]{16}\\.pem$`));

    const served = await fetchAsVerifier(active.x5u!, dispatcher);
    expect(served.findings).toEqual([]);
    const { stdout, leafFile } = await opensslVerify(served.chainPem, sandbox.stiCaRootPem);
    expect(stdout).toBe(`${leafFile}: OK`);
    expect(await passportRoundTrip({ databaseUrl: db.url, certificateId: active.id, x5u: active.x5u!, rootPem: sandbox.stiCaRootPem, dispatcher })).toBe(target.ocn);
    const [publication] = await ok<PublicationView[]>(clm, 'GET', `/api/v1/publications?certificateId=${active.id}`);
    expect(publication).toMatchObject({ driver: 's3', url: active.x5u, lastCheckOk: true });
    expect(await (await fetch(s3.objectUrl(`${PREFIX}${publication!.storageKey}`))).text()).toBe(served.chainPem);

    // The store goes away while the next certificate for the OCN is being published.
    await s3.stop();
    let nextId: string;
    try {
      nextId = (await ok<CertificateView>(clm, 'POST', '/api/v1/certificates', target)).id;
      const waiting = await waitForCertificate(clm, nextId, (v) => v.order?.lastErrorCode === 'STI_CR.UPLOAD_FAILED' || v.state === 'active' || v.state === 'failed', 90_000);
      expect(waiting.state).toBe('publishing');
      expect(waiting.x5u).toBeNull();
      expect((await ok<CertificateView>(clm, 'GET', `/api/v1/certificates/${active.id}`)).state).toBe('active');
      expect(await ok<PublicationView[]>(clm, 'GET', `/api/v1/publications?certificateId=${nextId}`)).toEqual([]);
    } finally {
      await s3.start();
    }
    const next = await waitForCertificate(clm, nextId, (v) => v.state === 'active' || v.state === 'failed', 60_000);
    expect(next.state).toBe('active');
    expect((await ok<CertificateView>(clm, 'GET', `/api/v1/certificates/${active.id}`)).state).toBe('superseded');
    const renewed = await fetchAsVerifier(next.x5u!, dispatcher);
    expect(renewed.findings).toEqual([]);
    expect((await opensslVerify(renewed.chainPem, sandbox.stiCaRootPem)).stdout).toMatch(/: OK$/);
    // The superseded certificate's URL still serves (verifiers' caches).
    expect((await fetchAsVerifier(active.x5u!, dispatcher)).fetched.status).toBe(200);
  });
});
