import 'reflect-metadata';
import { readFileSync, statSync, writeFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { SchedulerRegistry } from '@nestjs/schedule';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchStiCr, lintStiCrResponse, stiCrDispatcher } from '@app/shaken';
import { type Agent, request } from 'undici';
import type { CertificateView } from '../../apps/clm/src/certificates/certificate-views.js';
import { ManualClock } from '../../apps/clm/src/common/clock.js';
import { CertificatePublisher } from '../../apps/clm/src/publishing/certificate-publisher.js';
import { PublicationCleanup } from '../../apps/clm/src/publishing/publication-cleanup.js';
import { PublicationProbe } from '../../apps/clm/src/publishing/publication-probe.js';
import { CLEANUP_JOB, PROBE_JOB, PublishingJobs } from '../../apps/clm/src/publishing/publishing.jobs.js';
import { SchedulerLeader } from '../../apps/clm/src/jobs/scheduler-leader.service.js';
import type { PublicationView } from '../../apps/clm/src/publishing/publication-views.js';
import { startPublishingApp, type PublishingApp } from '../support/publishing-app.js';
import { type IssuedTestCertificate, TestStiCa } from '../support/shaken-test-ca.js';

const DAY = 86_400_000;

async function importAndActivate(app: PublishingApp, target: { providerId: string; ocn: string; stiCaId: string }, issued: IssuedTestCertificate): Promise<CertificateView> {
  const posted = await app.api<{ certificate: CertificateView }>('POST', '/api/v1/certificates/import', { ...target, chainPem: issued.chainPem, privateKeyPem: issued.privateKeyPem });
  if (posted.status !== 202) throw new Error(`import answered ${posted.status}: ${JSON.stringify(posted.json)}`);
  await app.worker.drain();
  return (await app.api<CertificateView>('GET', `/api/v1/certificates/${posted.json.certificate.id}`)).json;
}

/**
 * The filesystem STI-CR through the service: its HTTPS listener answers exactly as verifiers
 * need, the publisher keeps one immutable URL per certificate, the probe notices a repository
 * changed behind the service's back, and clean-up removes only what verifiers can no longer need.
 */
describe('filesystem STI-CR (integration)', () => {
  let app: PublishingApp;
  let ca: TestStiCa;
  let dispatcher: Agent;
  let target: { providerId: string; ocn: string; stiCaId: string };
  let issued: IssuedTestCertificate;
  let active: CertificateView;

  beforeAll(async () => {
    app = await startPublishingApp();
    ca = await TestStiCa.fromSandbox(app.sandbox);
    dispatcher = stiCrDispatcher({ caPem: app.listener!.tlsRootPem! });
    target = await app.onboard();
    issued = await ca.issue(target.ocn);
    active = await importAndActivate(app, target, issued);
  });
  afterAll(async () => {
    await dispatcher?.close();
    await app?.close();
  });

  it('serves the x5u over TLS with the verifier headers, HEAD without a body, and no redirect for near misses', async () => {
    const x5u = active.x5u!;
    const get = await fetchStiCr(x5u, { dispatcher });
    expect(get.status).toBe(200);
    expect(get.headers).toMatchObject({
      'content-type': 'application/pem-certificate-chain',
      'cache-control': 'public, max-age=86400',
      'x-content-type-options': 'nosniff',
      'content-length': String(Buffer.byteLength(issued.chainPem)),
    });
    expect(get.headers.etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(lintStiCrResponse(get)).toEqual([]);

    const head = await request(x5u, { method: 'HEAD', dispatcher });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-type']).toBe('application/pem-certificate-chain');
    expect(await head.body.text()).toBe('');

    const base = app.listener!.url;
    for (const near of [`${x5u}/`, x5u.replace('.pem', '.PEM'), x5u.replace(`/${target.ocn}/`, `/${target.ocn}%2F`), `${base}/../${x5u.slice(base.length + 1)}`, `${x5u}?v=1`, `${base.replace('/sti-cr', '')}/`]) {
      const res = await fetchStiCr(near, { dispatcher });
      expect({ near, status: res.status }).toEqual({ near, status: 404 });
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers.location).toBeUndefined();
    }
    const post = await request(x5u, { method: 'POST', dispatcher });
    await post.body.dump();
    expect(post.statusCode).toBe(405);
  });

  it('keeps one immutable file per certificate: publishing again is the same URL and publication', async () => {
    const publisher = app.clm.app.get(CertificatePublisher);
    const row = await app.prisma.certificate.findUniqueOrThrow({ where: { id: active.id } });
    const request = { certificateId: row.id, spc: target.ocn, fingerprintSha256: row.fingerprintSha256!, chainPem: row.chainPem!, notAfter: row.notAfter! };
    const again = await publisher.publish(request);
    expect(again.x5u).toBe(active.x5u);
    expect(await app.prisma.publication.count({ where: { certificateId: row.id } })).toBe(1);

    const publication = await app.prisma.publication.findFirstOrThrow({ where: { certificateId: row.id } });
    expect(again.publicationId).toBe(publication.id);
    const file = join(app.clm.runtime.config.stiCr.store.driver === 'filesystem' ? app.clm.runtime.config.stiCr.store.rootDir : '', publication.storageKey);
    expect(readFileSync(file, 'utf8')).toBe(issued.chainPem);
    expect(statSync(file).mode & 0o777).toBe(0o644);

    // The chain handed over must be that certificate's, leaf first.
    const [leafPem, intermediatePem] = issued.chainPem.split(/(?<=-----END CERTIFICATE-----\n)/);
    await expect(publisher.publish({ ...request, fingerprintSha256: 'ab'.repeat(32) })).rejects.toMatchObject({ code: 'STI_CR.CHAIN_INVALID' });
    await expect(publisher.publish({ ...request, chainPem: `${intermediatePem}${leafPem}` })).rejects.toMatchObject({ code: 'STI_CR.CHAIN_INVALID' });
    await expect(publisher.publish({ ...request, chainPem: `${issued.chainPem}${issued.privateKeyPem}` })).rejects.toMatchObject({ code: 'STI_CR.CHAIN_INVALID' });
    expect(readFileSync(file, 'utf8')).toBe(issued.chainPem);
  });

  it('the probe reports a file changed or removed behind the service, lists it as failing, and records the recovery', async () => {
    const probe = app.clm.app.get(PublicationProbe);
    const publication = await app.prisma.publication.findFirstOrThrow({ where: { certificateId: active.id } });
    const store = app.clm.runtime.config.stiCr.store;
    const file = join(store.driver === 'filesystem' ? store.rootDir : '', publication.storageKey);
    const other = await ca.issue(target.ocn);

    expect(await probe.checkAllLive()).toMatchObject({ failing: 0 });
    expect((await app.api<PublicationView[]>('GET', '/api/v1/publications?failing=true')).json).toEqual([]);

    // Someone replaced the bytes: a verifier would get another certificate.
    unlinkSync(file);
    writeFileSync(file, other.chainPem, { mode: 0o644 });
    const replaced = await probe.checkAllLive();
    expect(replaced.failingIds).toEqual([publication.id]);
    let failing = (await app.api<PublicationView[]>('GET', '/api/v1/publications?failing=true')).json;
    expect(failing.map((p) => p.id)).toEqual([publication.id]);
    expect(failing[0]!.lastCheckFindings.map((f) => f.code)).toEqual(['e_sticr_body_mismatch']);

    // Someone deleted it.
    unlinkSync(file);
    await probe.checkAllLive();
    failing = (await app.api<PublicationView[]>('GET', '/api/v1/publications?failing=true')).json;
    expect(failing[0]!.lastCheckFindings.map((f) => f.code)).toEqual(['e_sticr_status']);

    // Put back; an on-demand check clears it.
    writeFileSync(file, issued.chainPem, { mode: 0o644 });
    const checked = await app.api<PublicationView>('POST', `/api/v1/publications/${publication.id}/check`);
    expect(checked.status).toBe(200);
    expect(checked.json).toMatchObject({ id: publication.id, lastCheckOk: true, lastCheckFindings: [] });
    expect((await app.api<PublicationView[]>('GET', '/api/v1/publications?failing=true')).json).toEqual([]);

    const events = (await app.api<CertificateView>('GET', `/api/v1/certificates/${active.id}`)).json.events!;
    const publicationEvents = events.filter((e) => e.type.startsWith('publication.'));
    expect(publicationEvents.map((e) => [e.type, (e.details as { errors: string[] }).errors])).toEqual([
      ['publication.check_failed', ['e_sticr_body_mismatch']],
      ['publication.check_failed', ['e_sticr_status']],
      ['publication.check_recovered', []],
    ]);
    expect(await app.prisma.auditEvent.count({ where: { action: 'publication.checked', subjectId: active.id } })).toBe(1);
    expect((await app.api('POST', '/api/v1/publications/00000000-0000-4000-8000-000000000000/check')).json).toMatchObject({ code: 'PUBLICATION.NOT_FOUND' });
  });
});

describe('STI-CR clean-up (integration)', () => {
  let app: PublishingApp;
  let ca: TestStiCa;
  const clock = new ManualClock(new Date());

  beforeAll(async () => {
    app = await startPublishingApp({ clock });
    ca = await TestStiCa.fromSandbox(app.sandbox);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('removes a superseded chain once notAfter + 30 days passed, never the active one', async () => {
    const target = await app.onboard();
    const short = await ca.issue(target.ocn, { days: 10 });
    const long = await ca.issue(target.ocn, { days: 90 });
    const old = await importAndActivate(app, target, short);
    const current = await importAndActivate(app, target, long);
    expect([old.state, (await app.api<CertificateView>('GET', `/api/v1/certificates/${old.id}`)).json.state, current.state]).toEqual(['active', 'superseded', 'active']);
    const cleanup = app.clm.app.get(PublicationCleanup);
    const dispatcher = stiCrDispatcher({ caPem: app.listener!.tlsRootPem! });
    try {
      // Past the old certificate's notAfter, within the verifier cache window: still served.
      clock.set(new Date(short.leaf.notAfter.getTime() + 29 * DAY));
      expect(await cleanup.removeExpired()).toEqual({ removed: 0, skipped: [] });
      expect((await fetchStiCr(old.x5u!, { dispatcher })).status).toBe(200);

      clock.set(new Date(short.leaf.notAfter.getTime() + 30 * DAY + 1));
      expect(await cleanup.removeExpired()).toEqual({ removed: 1, skipped: [] });
      expect((await fetchStiCr(old.x5u!, { dispatcher })).status).toBe(404);
      expect((await fetchStiCr(current.x5u!, { dispatcher })).status).toBe(200);
      const removed = await app.prisma.publication.findFirstOrThrow({ where: { certificateId: old.id } });
      expect(removed.removedAt).toEqual(clock.now());
      expect(await app.prisma.certificateEvent.count({ where: { certificateId: old.id, type: 'publication.removed' } })).toBe(1);
      expect(await app.prisma.auditEvent.count({ where: { subjectId: old.id, action: 'publication.removed', actorType: 'system' } })).toBe(1);

      // The active certificate's chain stays, even long after its own dates.
      clock.set(new Date(long.leaf.notAfter.getTime() + 60 * DAY));
      expect(await cleanup.removeExpired()).toEqual({ removed: 0, skipped: [] });
      expect((await fetchStiCr(current.x5u!, { dispatcher })).status).toBe(200);
      const views = (await app.api<PublicationView[]>('GET', `/api/v1/publications?certificateId=${current.id}`)).json;
      expect(views[0]!.removedAt).toBeNull();
    } finally {
      await dispatcher.close();
    }
  });
});

describe('STI-CR jobs on the scheduler leader (integration)', () => {
  let app: PublishingApp;

  beforeAll(async () => {
    app = await startPublishingApp({ env: { CLM_JOBS_ENABLED: 'true' } });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('registers a daily probe and clean-up whose handlers run the work through JobRunner on the leader', async () => {
    const registry = app.clm.app.get(SchedulerRegistry);
    expect(registry.getCronJob(PROBE_JOB).cronTime.source).toBe('0 20 4 * * *');
    expect(registry.getCronJob(CLEANUP_JOB).cronTime.source).toBe('0 50 4 * * *');
    expect(await app.clm.app.get(SchedulerLeader).tryAcquire()).toBe(true);

    const ca = await TestStiCa.fromSandbox(app.sandbox);
    const target = await app.onboard();
    const issued = await ca.issue(target.ocn);
    const posted = await app.api<{ certificate: CertificateView }>('POST', '/api/v1/certificates/import', { ...target, chainPem: issued.chainPem, privateKeyPem: issued.privateKeyPem });
    await app.worker.drain();
    expect((await app.api<CertificateView>('GET', `/api/v1/certificates/${posted.json.certificate.id}`)).json.state).toBe('active');

    const jobs = app.clm.app.get(PublishingJobs);
    await jobs.probeLiveUrls();
    await jobs.removeExpired();
    const runs = await app.prisma.jobRun.findMany({ where: { job: { in: [PROBE_JOB, CLEANUP_JOB] } }, orderBy: { startedAt: 'asc' } });
    expect(runs.map((r) => [r.job, r.ok, r.summary])).toEqual([
      [PROBE_JOB, true, { checked: 1, failing: 0, failingIds: [] }],
      [CLEANUP_JOB, true, { removed: 0, skipped: [] }],
    ]);
    const publication = await app.prisma.publication.findFirstOrThrow({ where: { certificateId: posted.json.certificate.id } });
    expect(publication.lastCheckAt!.getTime()).toBeGreaterThan(publication.publishedAt.getTime());
  });
});
