import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchStiCr, lintStiCrResponse, stiCrDispatcher } from '@app/shaken';
import type { Agent } from 'undici';
import type { CertificateView } from '../../apps/clm/src/certificates/certificate-views.js';
import { ManualClock } from '../../apps/clm/src/common/clock.js';
import { PublicationProbe } from '../../apps/clm/src/publishing/publication-probe.js';
import type { PublicationView } from '../../apps/clm/src/publishing/publication-views.js';
import { startPublishingApp, type PublishingApp } from '../support/publishing-app.js';
import { startS3rver, type S3rverInstance } from '../support/s3rver.js';
import { type IssuedTestCertificate, TestStiCa } from '../support/shaken-test-ca.js';
import { startStiCrFront, type StiCrFront } from '../support/sti-cr-front.js';

const PREFIX = 'shaken/sti-cr/';
const HOUR = 3_600_000;

/**
 * The S3 driver through the service: chains uploaded to s3rver (its own process, real HTTP, AWS
 * SDK v3 with credentials from the standard chain), served to verifiers by a real HTTPS server on
 * loopback:8443 standing in for the CDN. The probe catches the CDN going bad; a store outage
 * during publishing leaves nothing behind and the previous certificate active.
 */
describe('S3 STI-CR (integration)', () => {
  let s3: S3rverInstance;
  let front: StiCrFront;
  let app: PublishingApp;
  let ca: TestStiCa;
  let dispatcher: Agent;
  let target: { providerId: string; ocn: string; stiCaId: string };
  const clock = new ManualClock(new Date());
  const savedEnv = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };

  beforeAll(async () => {
    s3 = await startS3rver({ bucket: 'clm-sti-cr' });
    front = await startStiCrFront(s3.objectUrl(PREFIX));
    // The AWS SDK's standard credential chain reads these (the service configures no credentials).
    process.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
    app = await startPublishingApp({
      clock,
      env: {
        CLM_STI_CR_DRIVER: 's3',
        CLM_STI_CR_S3_BUCKET: s3.bucket,
        CLM_STI_CR_S3_PREFIX: PREFIX,
        CLM_STI_CR_S3_REGION: s3.region,
        CLM_STI_CR_S3_ENDPOINT: s3.endpoint,
        CLM_STI_CR_S3_PATH_STYLE: 'true',
        CLM_STI_CR_PUBLIC_URL: front.baseUrl,
        CLM_STI_CR_MAX_AGE: '172800',
      },
      trust: { stiPaRootsPem: [], tlsCaPem: [front.tlsRootPem] },
    });
    ca = await TestStiCa.fromSandbox(app.sandbox);
    dispatcher = stiCrDispatcher({ caPem: front.tlsRootPem });
    target = await app.onboard();
  });
  afterAll(async () => {
    await dispatcher?.close();
    await app?.close();
    await front?.close();
    await s3?.dispose();
    process.env.AWS_ACCESS_KEY_ID = savedEnv.id;
    process.env.AWS_SECRET_ACCESS_KEY = savedEnv.secret;
    if (savedEnv.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
    if (savedEnv.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
  });

  async function importCertificate(issued: IssuedTestCertificate): Promise<string> {
    const posted = await app.api<{ certificate: CertificateView }>('POST', '/api/v1/certificates/import', { ...target, chainPem: issued.chainPem, privateKeyPem: issued.privateKeyPem });
    expect(posted.status).toBe(202);
    return posted.json.certificate.id;
  }
  async function view(id: string): Promise<CertificateView> {
    return (await app.api<CertificateView>('GET', `/api/v1/certificates/${id}`)).json;
  }
  async function bucketKeys(): Promise<string[]> {
    const xml = await (await fetch(`${s3.endpoint}/${s3.bucket}?list-type=2&prefix=${encodeURIComponent(PREFIX)}`)).text();
    return [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]!);
  }

  let first: { id: string; issued: IssuedTestCertificate; x5u: string };

  it('uploads under <prefix><SPC>/<16 hex>.pem with the verifier headers; the x5u on the CDN lints clean', async () => {
    const issued = await ca.issue(target.ocn);
    const id = await importCertificate(issued);
    await app.worker.drain();
    const active = await view(id);
    expect(active.state).toBe('active');
    expect(active.x5u).toMatch(new RegExp(`^${front.baseUrl}/${target.ocn}/[0-9a-f]{16}\\.pem$`));
    first = { id, issued, x5u: active.x5u! };

    const fetched = await fetchStiCr(active.x5u!, { dispatcher });
    expect(lintStiCrResponse(fetched)).toEqual([]);
    expect(fetched.headers['cache-control']).toBe('public, max-age=172800');
    expect(Buffer.from(fetched.body).toString('utf8')).toBe(issued.chainPem);

    const publication = (await app.api<PublicationView[]>('GET', `/api/v1/publications?certificateId=${id}`)).json[0]!;
    expect(publication).toMatchObject({ driver: 's3', url: active.x5u, lastCheckOk: true });
    expect(await bucketKeys()).toEqual([`${PREFIX}${publication.storageKey}`]);
    // The object carries the headers itself (S3 serves object metadata as headers).
    const direct = await fetch(s3.objectUrl(`${PREFIX}${publication.storageKey}`));
    expect(direct.headers.get('content-type')).toBe('application/pem-certificate-chain');
    expect(direct.headers.get('cache-control')).toBe('public, max-age=172800');
    expect(await direct.text()).toBe(issued.chainPem);
  });

  it('the probe reports the CDN starting to send the wrong Content-Type, then a redirect, and the recovery', async () => {
    const probe = app.clm.app.get(PublicationProbe);
    const publication = (await app.api<PublicationView[]>('GET', `/api/v1/publications?certificateId=${first.id}`)).json[0]!;
    try {
      front.mode = 'wrong-content-type';
      expect(await probe.checkAllLive()).toMatchObject({ checked: 1, failing: 1, failingIds: [publication.id] });
      let failing = (await app.api<PublicationView[]>('GET', '/api/v1/publications?failing=true')).json;
      expect(failing.map((p) => [p.id, p.lastCheckFindings.map((f) => f.code)])).toEqual([[publication.id, ['e_sticr_content_type']]]);

      front.mode = 'redirect';
      await probe.checkAllLive();
      failing = (await app.api<PublicationView[]>('GET', '/api/v1/publications?failing=true')).json;
      expect(failing.map((p) => p.lastCheckFindings.map((f) => f.code))).toEqual([['e_sticr_redirect']]);
      expect(failing[0]!.lastCheckFindings[0]!.message).toContain(s3.endpoint);
    } finally {
      front.mode = 'pass-through';
    }
    const checked = await app.api<PublicationView>('POST', `/api/v1/publications/${publication.id}/check`);
    expect(checked.json).toMatchObject({ lastCheckOk: true, lastCheckFindings: [] });
    expect((await app.api<PublicationView[]>('GET', '/api/v1/publications?failing=true')).json).toEqual([]);
    const events = (await view(first.id)).events!.filter((e) => e.type.startsWith('publication.'));
    expect(events.map((e) => [e.type, (e.details as { errors: string[]; trigger: string }).errors])).toEqual([
      ['publication.check_failed', ['e_sticr_content_type']],
      ['publication.check_failed', ['e_sticr_redirect']],
      ['publication.check_recovered', []],
    ]);
  });

  it('a store outage while publishing: STI_CR.UPLOAD_FAILED, nothing half-written, the previous certificate active; published once the store is back', async () => {
    const issued = await ca.issue(target.ocn);
    const publicationsBefore = await app.prisma.publication.count();
    await s3.stop();
    let id: string;
    try {
      id = await importCertificate(issued);
      await app.worker.drain();
      const waiting = await view(id);
      expect(waiting.state).toBe('publishing');
      expect(waiting.order).toMatchObject({ state: 'checked', attempts: 1, lastErrorCode: 'STI_CR.UPLOAD_FAILED' });
      expect(waiting.order!.lastError).toContain('STORAGE.UNAVAILABLE');
      expect(waiting.x5u).toBeNull();
      expect((await view(first.id)).state).toBe('active');
      expect(await app.prisma.publication.count()).toBe(publicationsBefore);
    } finally {
      await s3.start();
    }
    // Nothing reached the bucket.
    expect(await bucketKeys()).toHaveLength(1);

    // Not before the backoff is over...
    await app.worker.drain();
    expect((await view(id)).state).toBe('publishing');
    // ...then it goes through: published, checked, activated; the previous one superseded.
    clock.advance(HOUR + 1_000);
    await app.worker.drain();
    const done = await view(id);
    expect(done.state).toBe('active');
    expect((await view(first.id)).state).toBe('superseded');
    expect(await bucketKeys()).toHaveLength(2);
    const fetched = await fetchStiCr(done.x5u!, { dispatcher });
    expect(lintStiCrResponse(fetched)).toEqual([]);
    expect(Buffer.from(fetched.body).toString('utf8')).toBe(issued.chainPem);
    // The superseded certificate's URL keeps serving (verifiers' caches, STIR-SHAKEN.md §6).
    expect((await fetchStiCr(first.x5u, { dispatcher })).status).toBe(200);
  });
});
