import 'reflect-metadata';
import { createPrivateKey, randomInt } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CertificateView } from '../../apps/clm/src/certificates/certificate-views.js';
import { ProvidersService } from '../../apps/clm/src/onboarding/providers.service.js';
import type { SignerView } from '../../apps/clm/src/signers/signer-clients.service.js';
import { testAdmin } from '../support/factories.js';
import { startPublishingApp, type PublishingApp } from '../support/publishing-app.js';
import { type IssuedTestCertificate, TestStiCa } from '../support/shaken-test-ca.js';

interface RawAnswer {
  status: number;
  body: string;
}

/**
 * A signer scoped to OCN A must not obtain OCN B's key by any route: path variants and encodings,
 * case, lookalikes, query and header tricks, ids in place of the OCN, the PASSporT endpoint. Every
 * attempt is sent as raw bytes over a real socket (no client-side URL normalisation), and no
 * answer may contain B's key or name B's certificate.
 */
describe('signer scope isolation (integration)', () => {
  let app: PublishingApp;
  let ca: TestStiCa;
  let host: string;
  let port: number;
  let credential: string;
  let a: { ocn: string; certificateId: string; issued: IssuedTestCertificate };
  let b: { ocn: string; providerId: string; certificateId: string; issued: IssuedTestCertificate };
  /** Distinctive pieces of B's key in every form the service writes keys in (SEC1, PKCS#8, JWK). */
  let bKeyForms: string[];

  /** Onboards a provider with `ocn` and activates a certificate for it through the import lifecycle. */
  async function activeOcn(ocn: string) {
    const target = await app.onboard();
    await app.clm.app.get(ProvidersService).addOcn(target.providerId, { ocn }, testAdmin());
    const issued = await ca.issue(ocn);
    const posted = await app.api<{ certificate: CertificateView }>('POST', '/api/v1/certificates/import', {
      providerId: target.providerId, ocn, stiCaId: target.stiCaId, chainPem: issued.chainPem, privateKeyPem: issued.privateKeyPem,
    });
    expect(posted.status).toBe(202);
    await app.worker.drain();
    return { ocn, providerId: target.providerId, certificateId: posted.json.certificate.id, issued };
  }

  beforeAll(async () => {
    app = await startPublishingApp();
    ca = await TestStiCa.fromSandbox(app.sandbox);
    const url = new URL((await app.clm.app.getUrl()).replace('[::1]', '127.0.0.1'));
    [host, port] = [url.hostname, Number(url.port)];
    // Letters in both, so that case variants and lookalikes exist.
    const letters = () => Array.from({ length: 3 }, () => String.fromCharCode(65 + randomInt(0, 26))).join('');
    a = await activeOcn(`${randomInt(1, 10)}${letters()}`);
    b = await activeOcn(`${randomInt(1, 10)}${letters()}`);
    const signer = await app.api<SignerView & { credential: string }>('POST', '/api/v1/signers', { name: 'sbc-for-a', ocns: [a.ocn] });
    credential = signer.json.credential;
    bKeyForms = keyForms(b.issued.privateKeyPem);
  });
  afterAll(async () => {
    await app?.close();
  });

  function keyForms(privateKeyPem: string): string[] {
    const key = createPrivateKey(privateKeyPem);
    const body = (pem: string) => pem.split('\n').slice(1, -2).join('').slice(8, 60);
    return [body(key.export({ format: 'pem', type: 'sec1' }) as string), body(key.export({ format: 'pem', type: 'pkcs8' }) as string), key.export({ format: 'jwk' }).d as string];
  }

  /** One HTTP/1.1 request with the target exactly as given. */
  function raw(method: string, target: string, headers: Record<string, string> = {}, body?: string): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
      const req = request({ host, port, method, path: target, headers: { authorization: `Bearer ${credential}`, ...headers, ...(body ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  function expectNothingOfB(answer: RawAnswer, what: string): void {
    // A problem document echoes the path asked for (`instance`): that is the caller's own input.
    let echoFree = answer.body;
    try {
      const { instance: _echo, ...rest } = JSON.parse(answer.body) as Record<string, unknown>;
      echoFree = JSON.stringify(rest);
    } catch {
      // not JSON (a 304, a HEAD): checked as is
    }
    expect(echoFree, what).not.toContain(b.certificateId);
    for (const secret of bKeyForms) expect(answer.body, what).not.toContain(secret);
    expect(answer.body, what).not.toContain(b.issued.chainPem.split('\n')[1]!);
  }

  it('serves A to its signer (the control)', async () => {
    const answer = await raw('GET', `/signer/v1/credentials/${a.ocn}`);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ ocn: a.ocn, certificateId: a.certificateId });
    // The detector used below finds a key in each form it can be written in.
    const [sec1, pkcs8, d] = keyForms(a.issued.privateKeyPem);
    expect(answer.body).toContain(sec1);
    expect((await raw('GET', `/signer/v1/credentials/${a.ocn}?keyFormat=pkcs8`)).body).toContain(pkcs8);
    expect((await raw('GET', `/signer/v1/credentials/${a.ocn}?keyFormat=jwk`)).body).toContain(d);
  });

  it('answers B exactly as an OCN that does not exist (404, same code and detail shape)', async () => {
    const forB = await raw('GET', `/signer/v1/credentials/${b.ocn}`);
    const forNone = await raw('GET', '/signer/v1/credentials/0ZZZ');
    expect(forB.status).toBe(404);
    expect(forNone.status).toBe(404);
    const strip = (text: string, ocn: string) => {
      const { correlationId: _c, instance: _i, ...rest } = JSON.parse(text) as Record<string, unknown>;
      return JSON.stringify(rest).replaceAll(ocn, '<OCN>');
    };
    expect(strip(forB.body, b.ocn)).toBe(strip(forNone.body, '0ZZZ'));
    expect(JSON.parse(forB.body).code).toBe('SIGNER.OCN_NOT_FOUND');
    expectNothingOfB(forB, 'plain B');
  });

  it('gives nothing of B for any variant of the path, query or headers', async () => {
    const B = b.ocn;
    const A = a.ocn;
    const pct = (s: string) => [...s].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).join('');
    const fullwidth = (s: string) => encodeURIComponent([...s].map((c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)).join(''));
    // Cyrillic letters that look like Latin ones (А В Е К М Н О Р С Т Х).
    const cyrillic: Record<string, string> = { A: '\u0410', B: '\u0412', E: '\u0415', K: '\u041a', M: '\u041c', H: '\u041d', O: '\u041e', P: '\u0420', C: '\u0421', T: '\u0422', X: '\u0425' };
    const lookalike = encodeURIComponent([...B].map((c) => cyrillic[c] ?? c).join(''));
    const targets = [
      `/signer/v1/credentials/${B.toLowerCase()}`,
      `/signer/v1/credentials/${B[0]}${B.slice(1).toLowerCase()}`,
      `/signer/v1/credentials/${pct(B)}`,
      `/signer/v1/credentials/${B.slice(0, 3)}${pct(B.slice(3))}`,
      `/signer/v1/credentials/${pct(B).toLowerCase()}`,
      `/signer/v1/credentials/${B}/`,
      `/signer/v1/credentials/${B}//`,
      `/signer/v1/credentials//${B}`,
      `//signer/v1/credentials/${B}`,
      `/signer/v1//credentials/${B}`,
      `/signer/v1/credentials/${A}/../${B}`,
      `/signer/v1/credentials/${A}/%2E%2E/${B}`,
      `/signer/v1/credentials/${A}%2F..%2F${B}`,
      `/signer/v1/credentials/./${B}`,
      `/signer/v1/credentials/${B}%00`,
      `/signer/v1/credentials/${B}%20`,
      `/signer/v1/credentials/%20${B}`,
      `/signer/v1/credentials/${B};${A}`,
      `/signer/v1/credentials/${A};${B}`,
      `/signer/v1/credentials/${A},${B}`,
      `/signer/v1/credentials/${fullwidth(B)}`,
      `/signer/v1/credentials/${lookalike}`,
      `/signer/v1/credentials/${A}?ocn=${B}`,
      `/signer/v1/credentials/${A}?keyFormat=sec1&ocn=${B}`,
      `/signer/v1/credentials/${A}?keyFormat=sec1%26ocn%3D${B}`,
      `/signer/v1/credentials/${B}?`,
      `/signer/v1/credentials/${B}?wait=0`,
      `/signer/v1/credentials/${B}#${A}`,
      `/signer/v1/credentials/${A}%3F${B}`,
      `/signer/v1/credentials/${b.certificateId}`,
      `/signer/v1/credentials/${b.providerId}`,
      `/signer/v1/credentials/${b.issued.leaf.serialNumber}`,
      `/signer/v1/credentials?ocn=${B}`,
      `/signer/v1/credentials/?ocn=${B}`,
      `/signer/v1/credentials/${B}/..`,
      `/SIGNER/V1/CREDENTIALS/${B}`,
      `/signer/v1/credentials/${B}.json`,
      `http://${host}:${port}/signer/v1/credentials/${B}`,
      `/api/v1/certificates/${b.certificateId}`,
      `/api/v1/signers`,
    ];
    for (const target of targets) {
      const answer = await raw('GET', target);
      expect(answer.status, target).not.toBe(200);
      expect(answer.body, target).not.toContain('PRIVATE KEY');
      expectNothingOfB(answer, target);
    }
    // Header tricks: a rewritten-URL header or a forwarded host/prefix does not change the OCN served.
    const headerTricks: Record<string, string>[] = [
      { 'x-original-url': `/signer/v1/credentials/${B}` },
      { 'x-rewrite-url': `/signer/v1/credentials/${B}` },
      { 'x-forwarded-prefix': `/signer/v1/credentials/${B}` },
      { 'x-ocn': B },
    ];
    for (const headers of headerTricks) {
      const answer = await raw('GET', `/signer/v1/credentials/${A}`, headers);
      expect(JSON.parse(answer.body)).toMatchObject({ ocn: A, certificateId: a.certificateId });
      expectNothingOfB(answer, JSON.stringify(headers));
    }
    // Other methods on B's resource.
    for (const method of ['HEAD', 'POST', 'PUT', 'OPTIONS', 'DELETE']) {
      const answer = await raw(method, `/signer/v1/credentials/${B}`);
      expect(answer.status, method).not.toBe(200);
      expectNothingOfB(answer, method);
    }
  });

  it('does not sign for B, whatever the body says', async () => {
    const claims = { attest: 'A', orig: '12025550101', dest: ['12025550199'] };
    const bodies = [
      JSON.stringify({ ...claims, ocn: b.ocn }),
      JSON.stringify({ ...claims, ocn: b.ocn.toLowerCase() }),
      JSON.stringify({ ...claims, ocn: [b.ocn] }),
      JSON.stringify({ ...claims, ocn: [a.ocn, b.ocn] }),
      JSON.stringify({ ...claims, ocn: ` ${b.ocn}` }),
      JSON.stringify({ ...claims, ocn: b.certificateId }),
      `{"ocn":"${a.ocn}","attest":"A","orig":"12025550101","dest":["12025550199"],"ocn":"${b.ocn}"}`,
      JSON.stringify({ ...claims, ocn: a.ocn, x5u: 'https://127.0.0.1:8443/sti-cr/whatever.pem', certificateId: b.certificateId }),
    ];
    for (const body of bodies) {
      const answer = await raw('POST', '/signer/v1/passports', {}, body);
      expect(answer.status, body).not.toBe(200);
      expectNothingOfB(answer, body);
    }
    const forB = await raw('POST', `/signer/v1/passports?ocn=${b.ocn}`, {}, JSON.stringify({ ...claims, ocn: a.ocn }));
    // The query is ignored by this route: it signs for A, with A's x5u.
    expect(forB.status).toBe(200);
    expect(JSON.parse(forB.body).certificateId).toBe(a.certificateId);
  });
});
