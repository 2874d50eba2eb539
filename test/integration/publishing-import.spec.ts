import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Keystore } from '@app/keystore';
import {
  createPassport,
  fetchStiCr,
  lintStiCrResponse,
  parseCertificate,
  serialHex,
  stiCrDispatcher,
  verifyPassport,
  type X509Certificate,
} from '@app/shaken';
import type { Agent } from 'undici';
import type { CertificateView } from '../../apps/clm/src/certificates/certificate-views.js';
import { privateKeyAad } from '../../apps/clm/src/common/sealed-secrets.js';
import { ProvidersService } from '../../apps/clm/src/onboarding/providers.service.js';
import type { PublicationView } from '../../apps/clm/src/publishing/publication-views.js';
import { sandboxStiPaUser, type SandboxStiPaUser, testAdmin } from '../support/factories.js';
import { ShiftedClock } from '../support/procurement-app.js';
import { startPublishingApp, type PublishingApp } from '../support/publishing-app.js';
import { startSandboxProcess, type SandboxProcess } from '../support/sandbox.js';
import { issueAtSandbox, revokeAtSandbox } from '../support/sandbox-issuance.js';
import { TestStiCa } from '../support/shaken-test-ca.js';

const DAY = 86_400_000;

interface Imported {
  certificate: CertificateView;
  lintWarnings: { code: string }[];
}

/** StiPaTrust reuses a downloaded CRL this long (sti-pa-trust.ts REUSE_MS), plus a second. */
const CRL_REUSE_MS = 61_000;

/**
 * POST /api/v1/certificates/import against the real service in-process, filesystem STI-CR served
 * by its own HTTPS listener on loopback:8443, and a real sandbox process as STI-PA (CA list, CRL)
 * and STI-CA. Certificates that must be trusted are issued by the sandbox STI-CA over ACME, so
 * they chain to the root on the sandbox STI-PA's CA list; a test STI-CA made with the @app/shaken
 * issuance helpers stands for any CA that is not on it. Publishing and activation run through
 * the lifecycle's worker.
 */
describe('certificate import (integration)', () => {
  let sandbox: SandboxProcess;
  let app: PublishingApp;
  let ca: TestStiCa;
  let sandboxRoot: X509Certificate;
  let dispatcher: Agent;
  const clock = new ShiftedClock();

  beforeAll(async () => {
    [sandbox, ca] = await Promise.all([startSandboxProcess(), TestStiCa.create()]);
    sandboxRoot = parseCertificate(sandbox.stiCaRootPem);
    app = await startPublishingApp({ sandbox, clock });
    dispatcher = stiCrDispatcher({ caPem: app.listener!.tlsRootPem! });
  });
  afterAll(async () => {
    await dispatcher?.close();
    await app?.close();
    await sandbox?.stop();
  });

  /** A provider with one OCN and an STI-PA API user at the sandbox (environment `sandbox`) holding it. */
  async function onboard(): Promise<{ providerId: string; ocn: string; stiCaId: string; stiPaUser: SandboxStiPaUser }> {
    const target = await app.onboard({ stiPaAccount: false });
    const stiPaUser = await sandboxStiPaUser(sandbox, [target.ocn]);
    await app.clm.app.get(ProvidersService).putStiPaAccount(target.providerId, {
      environment: 'sandbox', baseUrl: sandbox.stiPaApi, userId: stiPaUser.userId, password: stiPaUser.password,
    }, testAdmin());
    return { ...target, stiPaUser };
  }

  async function rowCounts(): Promise<{ certificates: number; keys: number; events: number; orders: number }> {
    const [certificates, keys, events, orders] = await Promise.all([
      app.prisma.certificate.count(), app.prisma.privateKey.count(), app.prisma.certificateEvent.count(), app.prisma.certificateOrder.count(),
    ]);
    return { certificates, keys, events, orders };
  }

  async function certificate(id: string): Promise<CertificateView> {
    return (await app.api<CertificateView>('GET', `/api/v1/certificates/${id}`)).json;
  }

  it('imports a chain with its key: sealed, published at one https x5u that lints clean, activated; the key signs PASSporTs that verify', async () => {
    const target = await onboard();
    const issued = await issueAtSandbox(sandbox, target.stiPaUser, target.ocn);
    const posted = await app.api<Imported>('POST', '/api/v1/certificates/import', {
      providerId: target.providerId, ocn: target.ocn, stiCaId: target.stiCaId, chainPem: issued.chainPem, privateKeyPem: issued.privateKeyPem,
    });
    expect(posted.status, JSON.stringify(posted.json)).toBe(202);
    expect(posted.json.certificate).toMatchObject({ state: 'checked', ocn: target.ocn, stiCa: { id: target.stiCaId }, x5u: null });
    expect(posted.json.certificate.order).toMatchObject({ state: 'checked' });
    expect(posted.json.lintWarnings).toEqual([]);
    expect(JSON.stringify(posted.json)).not.toContain('PRIVATE KEY');
    const id = posted.json.certificate.id;

    await app.worker.drain();
    const view = await certificate(id);
    expect(view.state).toBe('active');
    expect(view.events!.map((e) => e.type)).toEqual(['certificate.imported', 'order.published', 'order.active']);
    // Checked like a procured certificate: up to the root on the sandbox STI-PA's CA list, against its signed CRL.
    expect(view.events![0]!.details).toMatchObject({ trustAnchor: sandboxRoot.subject, crlIssuer: expect.stringContaining('STI-PA CRL'), crlSignatureVerified: true });
    expect(view.x5u).toMatch(new RegExp(`^${app.listener!.url}/${target.ocn}/[0-9a-f]{16}\\.pem$`));
    expect(view.x5u).toMatch(/^https:\/\/127\.[0-9.]+:8443\/sti-cr\//);

    // What a verifier gets: lint clean, the exact chain.
    const fetched = await fetchStiCr(view.x5u!, { dispatcher });
    expect(lintStiCrResponse(fetched)).toEqual([]);
    expect(Buffer.from(fetched.body).toString('utf8')).toBe(issued.chainPem);

    const publications = (await app.api<PublicationView[]>('GET', `/api/v1/publications?certificateId=${id}`)).json;
    expect(publications).toHaveLength(1);
    expect(publications[0]).toMatchObject({ url: view.x5u, driver: 'filesystem', lastCheckOk: true, removedAt: null, lastCheckFindings: [] });
    expect(new Date(publications[0]!.removeAfter).getTime()).toBe(issued.leaf.notAfter.getTime() + 30 * DAY);

    // The key is stored sealed, bound to its row, and is the certificate's key: a PASSporT it
    // signs verifies with the chain fetched from the x5u, up to the sandbox STI-CA's root.
    const row = await app.prisma.certificate.findUniqueOrThrow({ where: { id }, include: { key: true } });
    expect(row.key.sealed).not.toBeNull();
    expect(Buffer.from(row.key.sealed!).toString('latin1')).not.toContain(issued.privateKeyPem.split('\n')[1]!);
    const keystore = app.clm.runtime.keystore as Keystore;
    const pkcs8 = keystore.openPrivateKeyDer(row.key.sealed!, privateKeyAad(row.key.id));
    const signingKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
    const passport = await createPassport({ attest: 'A', orig: '12025550101', dest: '12025550199', x5u: view.x5u! }, signingKey);
    const verified = await verifyPassport(passport, {
      fetchChain: async (x5u) => (await fetchStiCr(x5u, { dispatcher })).body,
      trustAnchors: [sandboxRoot],
      now: new Date(),
    });
    expect(verified.spc).toBe(target.ocn);
    expect(verified.path.map((c) => c.subject)).toEqual([issued.leaf.subject, issued.leaf.issuer, sandboxRoot.subject]);

    const audit = await app.prisma.auditEvent.findMany({ where: { subjectId: id, action: 'certificate.imported' } });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actorType: 'admin' });
    expect(JSON.stringify(audit[0]!.details)).not.toContain('PRIVATE KEY');
  });

  it('refuses what must not be managed, each with its own code, and writes nothing', async () => {
    const target = await onboard();
    const good = await issueAtSandbox(sandbox, target.stiPaUser, target.ocn);
    const other = await ca.issue(target.ocn);
    const before = await rowCounts();
    const refusal = async (body: Record<string, unknown>) => {
      const res = await app.api<{ code: string; detail: string; findings?: { code: string }[] }>('POST', '/api/v1/certificates/import', {
        providerId: target.providerId, ocn: target.ocn, stiCaId: target.stiCaId, ...body,
      });
      return { status: res.status, ...res.json };
    };
    const [leafPem, intermediatePem] = good.chainPem.split(/(?<=-----END CERTIFICATE-----\n)/);

    expect(await refusal({ chainPem: `${intermediatePem}${leafPem}`, privateKeyPem: good.privateKeyPem })).toMatchObject({ status: 422, code: 'IMPORT.CHAIN_ORDER' });
    expect(await refusal({ chainPem: good.chainPem, privateKeyPem: other.privateKeyPem })).toMatchObject({ status: 422, code: 'CERT.KEY_MISMATCH' });
    expect(await refusal({ chainPem: good.chainPem })).toMatchObject({ status: 422, code: 'IMPORT.KEY_REQUIRED' });
    expect(await refusal({ chainPem: 'not a certificate', privateKeyPem: good.privateKeyPem })).toMatchObject({ status: 422, code: 'CERT.EMPTY_CHAIN' });
    const broken = '-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n';
    expect(await refusal({ chainPem: broken, privateKeyPem: good.privateKeyPem })).toMatchObject({ status: 422, code: 'CERT.MALFORMED' });

    const withKey = await refusal({ chainPem: `${good.chainPem}${good.privateKeyPem}` });
    expect(withKey).toMatchObject({ status: 422, code: 'IMPORT.PRIVATE_KEY_IN_CHAIN' });
    expect(JSON.stringify(withKey)).not.toContain(good.privateKeyPem.split('\n')[1]!);

    const otherSpc = await ca.issue('9ZZ9');
    expect(await refusal({ chainPem: otherSpc.chainPem, privateKeyPem: otherSpc.privateKeyPem })).toMatchObject({ status: 422, code: 'CERT.TN_AUTH_LIST_MISMATCH' });

    const expired = await ca.issue(target.ocn, { notBefore: new Date(Date.now() - 100 * DAY), notAfter: new Date(Date.now() - DAY) });
    expect(await refusal({ chainPem: expired.chainPem, privateKeyPem: expired.privateKeyPem })).toMatchObject({ status: 422, code: 'CERT.EXPIRED' });

    // US SHAKEN CP 1.3 requires a subject serialNumber: the linter's finding is returned.
    const nonCompliant = await ca.issue(target.ocn, { subjectSerialNumber: null });
    const lint = await refusal({ chainPem: nonCompliant.chainPem, privateKeyPem: nonCompliant.privateKeyPem });
    expect(lint).toMatchObject({ status: 422, code: 'CERT.LINT_FAILED' });
    expect(lint.findings!.map((f) => f.code)).toContain('e_us_cp_subject_sn_shall');

    expect(await refusal({ chainPem: good.chainPem, privateKeyPem: good.privateKeyPem, ocn: 'ab12' })).toMatchObject({ status: 400, code: 'REQUEST.INVALID' });
    expect(await refusal({ chainPem: good.chainPem, privateKeyPem: good.privateKeyPem, activate: true })).toMatchObject({ status: 400 });

    // Without an STI-PA API user there is no CA list nor CRL to check against: nothing is imported.
    const noAccount = await app.onboard({ stiPaAccount: false });
    const forNoAccount = await ca.issue(noAccount.ocn);
    const refusedWithoutAccount = await app.api<{ code: string }>('POST', '/api/v1/certificates/import', {
      providerId: noAccount.providerId, ocn: noAccount.ocn, stiCaId: noAccount.stiCaId, chainPem: forNoAccount.chainPem, privateKeyPem: forNoAccount.privateKeyPem,
    });
    expect(refusedWithoutAccount).toMatchObject({ status: 422, json: { code: 'PROVIDER.STI_PA_ACCOUNT_MISSING' } });
    expect(await rowCounts()).toEqual(before);
  });

  it('refuses a chain from a CA that is not on the STI-PA CA list, however well-formed (STIR-SHAKEN.md §4)', async () => {
    const target = await onboard();
    const foreign = await ca.issue(target.ocn);
    const before = await rowCounts();
    const res = await app.api<{ code: string; detail: string }>('POST', '/api/v1/certificates/import', {
      providerId: target.providerId, ocn: target.ocn, stiCaId: target.stiCaId, chainPem: foreign.chainPem, privateKeyPem: foreign.privateKeyPem,
    });
    expect(res.status).toBe(422);
    expect(res.json.code).toBe('CERT.UNTRUSTED_CHAIN');
    expect(await rowCounts()).toEqual(before);
  });

  it("refuses a certificate on the STI-PA CRL: revoked at the CA, it never becomes the OCN's certificate", async () => {
    const target = await onboard();
    const issued = await issueAtSandbox(sandbox, target.stiPaUser, target.ocn);
    await revokeAtSandbox(sandbox, issued);
    // The STI-PA CRL another import read is reused for a minute; the revocation is in the next one.
    clock.advance(CRL_REUSE_MS);
    const before = await rowCounts();
    const res = await app.api<{ code: string; detail: string }>('POST', '/api/v1/certificates/import', {
      providerId: target.providerId, ocn: target.ocn, stiCaId: target.stiCaId, chainPem: issued.chainPem, privateKeyPem: issued.privateKeyPem,
    });
    expect(res.status).toBe(422);
    expect(res.json.code).toBe('CERT.REVOKED');
    expect(res.json.detail).toContain(serialHex(issued.leaf));
    expect(await rowCounts()).toEqual(before);
  });

  it("never hands provider A's key to provider B: a chain certifying A's public key for B's OCN is refused, and nothing is written (issue 7)", async () => {
    const a = await onboard();
    const b = await onboard();
    const importFor = (target: typeof a, body: Record<string, unknown>) => app.api<{ code: string; detail: string }>('POST', '/api/v1/certificates/import', {
      providerId: target.providerId, ocn: target.ocn, stiCaId: target.stiCaId, ...body,
    });
    const aCertificate = await issueAtSandbox(sandbox, a.stiPaUser, a.ocn);
    expect((await importFor(a, { chainPem: aCertificate.chainPem, privateKeyPem: aCertificate.privateKeyPem })).status).toBe(202);
    await app.worker.drain();
    const before = await rowCounts();

    // The exploit: anyone can read A's public key at A's x5u and certify it for B's OCN under a CA of their own.
    const forged = await ca.issueFor(b.ocn, aCertificate.keys.publicKey);
    const untrusted = await importFor(b, { chainPem: forged.chainPem });
    expect(untrusted.status).toBe(422);
    expect(untrusted.json.code).toBe('CERT.UNTRUSTED_CHAIN');

    // Even a chain the STI-PA CA list vouches for is no proof of holding the key: the key A's
    // certificates use is not B's, so it is not reused for B without the key...
    const trusted = await issueAtSandbox(sandbox, b.stiPaUser, b.ocn, aCertificate.keys);
    const withoutKey = await importFor(b, { chainPem: trusted.chainPem });
    expect(withoutKey.status).toBe(422);
    expect(withoutKey.json.code).toBe('IMPORT.KEY_REQUIRED');
    // ...and not shared with B even by someone holding it: one key serves one provider's OCN.
    const withKey = await importFor(b, { chainPem: trusted.chainPem, privateKeyPem: trusted.privateKeyPem });
    expect(withKey.status).toBe(409);
    expect(withKey.json.code).toBe('IMPORT.KEY_IN_USE');

    expect(await rowCounts()).toEqual(before);
    expect(await app.prisma.certificate.count({ where: { providerId: b.providerId } })).toBe(0);
  });

  it('a second import for the OCN supersedes the first, which stays published; the same certificate twice is a conflict', async () => {
    const target = await onboard();
    const first = await issueAtSandbox(sandbox, target.stiPaUser, target.ocn);
    const second = await issueAtSandbox(sandbox, target.stiPaUser, target.ocn);
    const body = (issued: typeof first) => ({ providerId: target.providerId, ocn: target.ocn, stiCaId: target.stiCaId, chainPem: issued.chainPem, privateKeyPem: issued.privateKeyPem });

    const a = (await app.api<Imported>('POST', '/api/v1/certificates/import', body(first))).json.certificate.id;
    await app.worker.drain();
    const b = (await app.api<Imported>('POST', '/api/v1/certificates/import', body(second))).json.certificate.id;
    await app.worker.drain();
    const [oldView, newView] = [await certificate(a), await certificate(b)];
    expect(oldView.state).toBe('superseded');
    expect(newView.state).toBe('active');
    expect(newView.x5u).not.toBe(oldView.x5u);
    for (const [url, chain] of [[oldView.x5u!, first.chainPem], [newView.x5u!, second.chainPem]] as const) {
      expect(Buffer.from((await fetchStiCr(url, { dispatcher })).body).toString('utf8')).toBe(chain);
    }

    const again = await app.api<{ code: string; certificateId: string }>('POST', '/api/v1/certificates/import', body(first));
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ code: 'CERTIFICATE.ALREADY_MANAGED', certificateId: a });
  });

  it("imports without a key when the service already holds it for the OCN's certificates (a certificate obtained elsewhere for our key)", async () => {
    const target = await onboard();
    const first = await issueAtSandbox(sandbox, target.stiPaUser, target.ocn);
    const a = (await app.api<Imported>('POST', '/api/v1/certificates/import', {
      providerId: target.providerId, ocn: target.ocn, stiCaId: target.stiCaId, chainPem: first.chainPem, privateKeyPem: first.privateKeyPem,
    })).json.certificate.id;
    await app.worker.drain();
    const held = await app.prisma.certificate.findUniqueOrThrow({ where: { id: a }, include: { key: true } });

    // Same key, new certificate, no key in the request.
    const renewed = await issueAtSandbox(sandbox, target.stiPaUser, target.ocn, first.keys);
    expect(Buffer.from(new Uint8Array(renewed.leaf.publicKey.rawData)).equals(Buffer.from(held.key.publicKeySpki))).toBe(true);
    const posted = await app.api<Imported>('POST', '/api/v1/certificates/import', { providerId: target.providerId, ocn: target.ocn, stiCaId: target.stiCaId, chainPem: renewed.chainPem });
    expect(posted.status).toBe(202);
    await app.worker.drain();
    const row = await app.prisma.certificate.findUniqueOrThrow({ where: { id: posted.json.certificate.id } });
    expect(row).toMatchObject({ status: 'active', keyId: held.keyId });
    expect(parseCertificate(row.chainPem!.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!).serialNumber).toBe(renewed.leaf.serialNumber);
  });

  it("refuses a new certificate for a key condemned by keyCompromise (on the STI-PA CRL, or a revocation pending), with or without the key, and writes nothing", async () => {
    for (const condemnation of ['crl', 'pending'] as const) {
      const target = await onboard();
      const first = await issueAtSandbox(sandbox, target.stiPaUser, target.ocn);
      const a = (await app.api<Imported>('POST', '/api/v1/certificates/import', {
        providerId: target.providerId, ocn: target.ocn, stiCaId: target.stiCaId, chainPem: first.chainPem, privateKeyPem: first.privateKeyPem,
      })).json.certificate.id;
      await app.worker.drain();
      if (condemnation === 'crl') {
        // What StiPaCrlMonitor records for a leaf the STI-PA CRL lists with reason keyCompromise.
        await app.prisma.certificate.update({ where: { id: a }, data: { status: 'revoked', revokedAt: new Date(), revocationReason: 'keyCompromise' } });
      } else {
        // What RevocationService journals first for a keyCompromise revoke-with-replace still waiting for its replacement.
        await app.prisma.certificateEvent.create({ data: { certificateId: a, at: new Date(), type: 'revocation.requested', details: { reason: 'keyCompromise', replace: true } } });
      }
      const key = await app.prisma.certificate.findUniqueOrThrow({ where: { id: a }, select: { keyId: true } });
      expect(await app.prisma.privateKey.findUniqueOrThrow({ where: { id: key.keyId } })).toMatchObject({ destroyedAt: null });
      const before = await rowCounts();

      // The same key certified again elsewhere: neither the held key nor the key in hand brings it back.
      const renewed = await issueAtSandbox(sandbox, target.stiPaUser, target.ocn, first.keys);
      for (const privateKeyPem of [undefined, first.privateKeyPem]) {
        const posted = await app.api<{ code: string; detail: string }>('POST', '/api/v1/certificates/import', {
          providerId: target.providerId, ocn: target.ocn, stiCaId: target.stiCaId, chainPem: renewed.chainPem, ...(privateKeyPem ? { privateKeyPem } : {}),
        });
        expect(posted.status, `${condemnation} ${JSON.stringify(posted.json)}`).toBe(422);
        expect(posted.json.code).toBe('KEY.RETIRED');
        expect(posted.json.detail).toContain(key.keyId);
      }
      expect(await rowCounts()).toEqual(before);
    }
  });
});
