import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Keystore } from '@app/keystore';
import { createPassport, fetchStiCr, lintStiCrResponse, parseCertificate, parseCertificateChain, stiCrDispatcher, verifyPassport } from '@app/shaken';
import type { Agent } from 'undici';
import type { CertificateView } from '../../apps/clm/src/certificates/certificate-views.js';
import { privateKeyAad } from '../../apps/clm/src/common/sealed-secrets.js';
import { ProcurementService } from '../../apps/clm/src/procurement/procurement.service.js';
import { freshOcn, sandboxStiPaUser, testAdmin } from '../support/factories.js';
import { sandboxTrust, ShiftedClock } from '../support/procurement-app.js';
import { startPublishingApp, type PublishingApp } from '../support/publishing-app.js';
import { startS3rver, type S3rverInstance } from '../support/s3rver.js';
import { startSandboxProcess, type SandboxProcess } from '../support/sandbox.js';
import { startStiCrFront, type StiCrFront } from '../support/sti-cr-front.js';

const run = promisify(execFile);
const PREFIX = 'x5u/';
const HOUR = 3_600_000;

/**
 * The lifecycle with the real publisher (issue 6, "done when"): certificates procured from the
 * sandbox STI-CA (its own process, ACME tkauth-01) and published to S3 (s3rver behind a loopback
 * HTTPS front). The store goes down during a renewal: the old certificate stays active, the new
 * one waits in `publishing` with the publisher's code, and is published, checked and activated
 * once the store is back; its x5u then passes the STI-CR linter, OpenSSL verifies its chain to
 * the sandbox root, and a PASSporT signed with its sealed key verifies with the fetched chain.
 */
describe('renewal while the STI-CR store is down (integration, sandbox + s3rver)', () => {
  let sandbox: SandboxProcess;
  let s3: S3rverInstance;
  let front: StiCrFront;
  let app: PublishingApp;
  let dispatcher: Agent;
  const clock = new ShiftedClock();
  const savedEnv = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };

  beforeAll(async () => {
    [sandbox, s3] = await Promise.all([startSandboxProcess(), startS3rver({ bucket: 'renewal-sti-cr' })]);
    front = await startStiCrFront(s3.objectUrl(PREFIX));
    process.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
    const trust = sandboxTrust(sandbox);
    app = await startPublishingApp({
      clock,
      sandbox,
      env: {
        CLM_STI_CR_DRIVER: 's3',
        CLM_STI_CR_S3_BUCKET: s3.bucket,
        CLM_STI_CR_S3_PREFIX: PREFIX,
        CLM_STI_CR_S3_REGION: s3.region,
        CLM_STI_CR_S3_ENDPOINT: s3.endpoint,
        CLM_STI_CR_S3_PATH_STYLE: 'true',
        CLM_STI_CR_PUBLIC_URL: front.baseUrl,
      },
      trust: { stiPaRootsPem: trust.stiPaRootsPem, tlsCaPem: [...trust.tlsCaPem, front.tlsRootPem] },
    });
    dispatcher = stiCrDispatcher({ caPem: front.tlsRootPem });
  });
  afterAll(async () => {
    await dispatcher?.close();
    await app?.close();
    await front?.close();
    await s3?.dispose();
    await sandbox?.stop();
    process.env.AWS_ACCESS_KEY_ID = savedEnv.id;
    process.env.AWS_SECRET_ACCESS_KEY = savedEnv.secret;
    if (savedEnv.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
    if (savedEnv.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
  });

  async function ok<T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<T> {
    const res = await app.api<T>(method, path, body);
    if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${JSON.stringify(res.json)}`);
    return res.json;
  }
  const view = (id: string) => ok<CertificateView>('GET', `/api/v1/certificates/${id}`);

  it('keeps the old certificate active while the new one waits in publishing, then activates it once the store is back', async () => {
    const ocn = freshOcn();
    const provider = await ok<{ id: string }>('POST', '/api/v1/providers', {
      legalName: 'Renewal Telecom LLC', frn: String(Date.now()).slice(-10), filer499Id: '123456', rmdNumber: 'RMD0012345', contactEmail: 'noc@example.net',
    });
    await ok('POST', `/api/v1/providers/${provider.id}/ocns`, { ocn });
    await ok('PUT', `/api/v1/providers/${provider.id}/sti-pa-account`, { environment: 'sandbox', baseUrl: sandbox.stiPaApi, ...(await sandboxStiPaUser(sandbox, [ocn])) });
    const stiCa = await ok<{ id: string }>('POST', '/api/v1/sti-cas', { name: `Sandbox ${ocn}`, directoryUrl: sandbox.acmeDirectory });

    const first = await ok<CertificateView>('POST', '/api/v1/certificates', { providerId: provider.id, ocn, stiCaId: stiCa.id });
    await app.worker.drain();
    const old = await view(first.id);
    expect(old.state).toBe('active');
    expect(old.x5u!.startsWith(`${front.baseUrl}/${ocn}/`)).toBe(true);

    const renewal = await app.clm.app.get(ProcurementService).requestRenewal(old.id, { type: 'admin', admin: testAdmin() });
    await s3.stop();
    try {
      await app.worker.drain();
      const waiting = await view(renewal.certificateId);
      expect(waiting.state).toBe('publishing');
      expect(waiting.order).toMatchObject({ state: 'checked', lastErrorCode: 'STI_CR.UPLOAD_FAILED' });
      expect(waiting.events!.map((e) => e.type)).toContain('order.retry_scheduled');
      expect((await view(old.id)).state).toBe('active');
      expect(await app.prisma.publication.count({ where: { certificateId: renewal.certificateId } })).toBe(0);
    } finally {
      await s3.start();
    }

    clock.advance(HOUR + 1_000);
    await app.worker.drain();
    const renewed = await view(renewal.certificateId);
    expect(renewed.state).toBe('active');
    expect(renewed.renewedFromId).toBe(old.id);
    expect((await view(old.id)).state).toBe('superseded');
    expect(renewed.x5u).not.toBe(old.x5u);

    // As a verifier: the x5u lints clean and serves the chain as issued.
    const fetched = await fetchStiCr(renewed.x5u!, { dispatcher });
    expect(lintStiCrResponse(fetched)).toEqual([]);
    const row = await app.prisma.certificate.findUniqueOrThrow({ where: { id: renewed.id }, include: { key: true } });
    expect(Buffer.from(fetched.body).toString('utf8')).toBe(row.chainPem);

    // OpenSSL (a separate, real verifier) builds the path from the fetched chain to the sandbox root.
    const dir = mkdtempSync(join(tmpdir(), 'clm-x5u-verify-'));
    try {
      const certificates = parseCertificateChain(Buffer.from(fetched.body).toString('utf8')).map((c) => c.toString('pem'));
      writeFileSync(join(dir, 'leaf.pem'), `${certificates[0]}\n`);
      writeFileSync(join(dir, 'untrusted.pem'), `${certificates.slice(1).join('\n')}\n`);
      writeFileSync(join(dir, 'root.pem'), sandbox.stiCaRootPem);
      const { stdout } = await run('openssl', ['verify', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'untrusted.pem'), join(dir, 'leaf.pem')]);
      expect(stdout.trim()).toBe(`${join(dir, 'leaf.pem')}: OK`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    // The key the service holds for this certificate signs a PASSporT that verifies with the x5u chain.
    const pkcs8 = (app.clm.runtime.keystore as Keystore).openPrivateKeyDer(row.key.sealed!, privateKeyAad(row.key.id));
    const key = await webcrypto.subtle.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
    const passport = await createPassport({ attest: 'A', orig: '12025550101', dest: ['12025550199'], x5u: renewed.x5u! }, key);
    const verified = await verifyPassport(passport, {
      fetchChain: async (x5u) => (await fetchStiCr(x5u, { dispatcher })).body,
      trustAnchors: [parseCertificate(sandbox.stiCaRootPem)],
      now: new Date(),
    });
    expect(verified.spc).toBe(ocn);
  });
});
