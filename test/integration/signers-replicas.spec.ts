import 'reflect-metadata';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CertificateView } from '../../apps/clm/src/certificates/certificate-views.js';
import { HAND_OFF_LISTENER_NAME, HandOffChangeListener } from '../../apps/clm/src/signers/hand-off-listener.js';
import { HandOffState } from '../../apps/clm/src/signers/hand-off-state.js';
import type { SignerView } from '../../apps/clm/src/signers/signer-clients.service.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startInProcessClm, type InProcessClm } from '../support/clm-app.js';
import { startPublishingApp, type PublishingApp } from '../support/publishing-app.js';
import { TestStiCa } from '../support/shaken-test-ca.js';

interface Pulled {
  status: number;
  etag: string | null;
  json: { certificateId?: string; code?: string };
}

/**
 * Two replicas of the service on one database. Replica 1 takes the admin calls and activates
 * certificates; replica 2 answers signers from its in-memory view, which only LISTEN/NOTIFY (or,
 * while its listener is down, on-demand reloads) can bring up to date.
 */
describe('signer hand-off across replicas (integration)', () => {
  let db: TestDatabase;
  let one: PublishingApp;
  let two: InProcessClm;
  let ca: TestStiCa;
  let twoUrl: string;
  let admin: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    one = await startPublishingApp({ db });
    ca = await TestStiCa.fromSandbox(one.sandbox);
    // Replicas share the database and the key-encryption key; replica 2 only serves signers.
    two = await startInProcessClm({ db, keystore: one.clm.runtime.keystore });
    twoUrl = (await two.app.getUrl()).replace('[::1]', '127.0.0.1');
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await one?.close();
    await two?.close();
    await db?.drop();
  });

  async function activate(target: { providerId: string; ocn: string; stiCaId: string }): Promise<string> {
    const issued = await ca.issue(target.ocn);
    const posted = await one.api<{ certificate: CertificateView }>('POST', '/api/v1/certificates/import', {
      providerId: target.providerId, ocn: target.ocn, stiCaId: target.stiCaId, chainPem: issued.chainPem, privateKeyPem: issued.privateKeyPem,
    });
    await one.worker.drain();
    expect((await one.api<CertificateView>('GET', `/api/v1/certificates/${posted.json.certificate.id}`)).json.state).toBe('active');
    return posted.json.certificate.id;
  }

  async function pullFromTwo(ocn: string, credential: string, query = '', headers: Record<string, string> = {}): Promise<Pulled> {
    const res = await fetch(`${twoUrl}/signer/v1/credentials/${ocn}${query}`, { headers: { authorization: `Bearer ${credential}`, ...headers } });
    const text = await res.text();
    return { status: res.status, etag: res.headers.get('etag'), json: text ? JSON.parse(text) : {} };
  }

  /** Polls until `condition` holds; returns the milliseconds it took. */
  async function within(ms: number, condition: () => Promise<boolean>): Promise<number> {
    const started = performance.now();
    while (!(await condition())) {
      if (performance.now() - started > ms) throw new Error(`not within ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return performance.now() - started;
  }

  it('a signer created on one replica pulls from the other; a long-poll there returns the pair activated through the first within 1 s', async () => {
    const target = await one.onboard();
    const firstId = await activate(target);
    const signer = (await one.api<SignerView & { credential: string }>('POST', '/api/v1/signers', { name: 'sbc-replicas', ocns: [target.ocn] })).json;
    await within(1_000, async () => (await pullFromTwo(target.ocn, signer.credential)).status === 200);
    const current = await pullFromTwo(target.ocn, signer.credential);
    expect(current.json.certificateId).toBe(firstId);

    const waiting = pullFromTwo(target.ocn, signer.credential, '?wait=30', { 'if-none-match': current.etag! });
    const renewedId = await activate(target);
    const activatedAt = performance.now();
    const answered = await waiting;
    expect(performance.now() - activatedAt).toBeLessThan(1_000);
    expect(answered.status).toBe(200);
    expect(answered.json.certificateId).toBe(renewedId);

    await one.api('POST', `/api/v1/signers/${signer.id}/disable`);
    expect(await within(1_000, async () => (await pullFromTwo(target.ocn, signer.credential)).status === 401)).toBeLessThan(1_000);
  });

  it('a parked long-poll of a signer disabled meanwhile ends in 401 when the pair changes, not with the new key', async () => {
    const target = await one.onboard();
    await activate(target);
    const signer = (await one.api<SignerView & { credential: string }>('POST', '/api/v1/signers', { name: 'sbc-parked', ocns: [target.ocn] })).json;
    await within(1_000, async () => (await pullFromTwo(target.ocn, signer.credential)).status === 200);
    const etag = (await pullFromTwo(target.ocn, signer.credential)).etag!;
    const waiting = pullFromTwo(target.ocn, signer.credential, '?wait=30', { 'if-none-match': etag });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await one.api('POST', `/api/v1/signers/${signer.id}/disable`);
    await activate(target);
    expect(await waiting).toMatchObject({ status: 401, json: { code: 'SIGNER.CREDENTIAL_DISABLED' } });
  });

  it('while its listener is down, a replica reloads on demand (a rotated credential stops within 1 s); back up, it reloads everything it missed', async () => {
    const target = await one.onboard();
    await activate(target);
    const signer = (await one.api<SignerView & { credential: string }>('POST', '/api/v1/signers', { name: 'sbc-outage', ocns: [target.ocn] })).json;
    await within(1_000, async () => (await pullFromTwo(target.ocn, signer.credential)).status === 200);
    const stateTwo = two.app.get(HandOffState);
    const keep = one.clm.app.get(HandOffChangeListener).sessionPid;
    expect(keep).toBeTypeOf('number');
    expect(stateTwo.isLive).toBe(true);

    // Replica 2's listening session is terminated, and so is each new one, for 2 s.
    let killing = true;
    const killer = (async () => {
      while (killing) {
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2 AND pid <> $3', [db.name, HAND_OFF_LISTENER_NAME, keep]);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    let rotated: { credential: string };
    try {
      await within(2_000, async () => !stateTwo.isLive);
      rotated = (await one.api<{ credential: string }>('POST', `/api/v1/signers/${signer.id}/rotate`)).json;
      const took = await within(1_500, async () => (await pullFromTwo(target.ocn, signer.credential)).status === 401);
      expect(took).toBeLessThan(1_500);
      expect((await pullFromTwo(target.ocn, rotated.credential)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    } finally {
      killing = false;
      await killer;
    }

    // Listening again: it serves what it reloaded, and a change made by plain SQL arrives by NOTIFY.
    await within(15_000, async () => stateTwo.isLive);
    expect((await pullFromTwo(target.ocn, signer.credential)).json.code).toBe('SIGNER.CREDENTIAL_INVALID');
    expect((await pullFromTwo(target.ocn, rotated.credential)).status).toBe(200);
    const reloadsBefore = stateTwo.reloadCount;
    await admin.query('UPDATE signer_clients SET disabled_at = now() WHERE id = $1', [signer.id]);
    await within(1_000, async () => (await pullFromTwo(target.ocn, rotated.credential)).json.code === 'SIGNER.CREDENTIAL_DISABLED');
    expect(stateTwo.reloadCount).toBeGreaterThan(reloadsBefore);
    expect(stateTwo.isLive).toBe(true);
    expect((await admin.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = $2', [db.name, HAND_OFF_LISTENER_NAME])).rows[0]!.n).toBe('2');
  });
  it('a replica shutting down ends its parked long-polls at once instead of holding the close up', async () => {
    const target = await one.onboard();
    await activate(target);
    const signer = (await one.api<SignerView & { credential: string }>('POST', '/api/v1/signers', { name: 'sbc-shutdown', ocns: [target.ocn] })).json;
    const three = await startInProcessClm({ db, keystore: one.clm.runtime.keystore });
    const threeUrl = (await three.app.getUrl()).replace('[::1]', '127.0.0.1');
    const pull = (headers: Record<string, string> = {}, query = '') =>
      fetch(`${threeUrl}/signer/v1/credentials/${target.ocn}${query}`, { headers: { authorization: `Bearer ${signer.credential}`, ...headers } });
    let etag: string | null = null;
    await within(2_000, async () => {
      const res = await pull();
      etag = res.headers.get('etag');
      await res.text();
      return res.status === 200;
    });
    const started = performance.now();
    const parked = pull({ 'if-none-match': etag! }, '?wait=60').then(async (res) => ({ status: res.status, at: performance.now() - started }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await three.close();
    const closedAfter = performance.now() - started;
    const answered = await parked;
    // Not after the 60 s wait: the poll ended with the close, which did not wait for it.
    expect(answered.at).toBeLessThan(5_000);
    expect(closedAfter).toBeLessThan(5_000);
    expect([304, 503]).toContain(answered.status);
  });
});
