import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CertificateView } from '../../apps/clm/src/certificates/certificate-views.js';
import type { ProviderReadinessView, ReadinessItemView } from '../../apps/clm/src/onboarding/readiness/readiness.views.js';
import { runCli } from '../support/clm-cli.js';
import type { ClmProcess } from '../support/clm-process.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { freePort } from '../support/ports.js';
import { api, E2E_ADMIN_TOKEN, startClm, waitForCertificate } from '../support/procurement-e2e.js';

type Readiness = ProviderReadinessView & { checkedAt: string };

/** Every item of a readiness answer, provider-wide and per OCN, named `<ocn|provider>.<item>`. */
function items(view: Readiness): Record<string, ReadinessItemView> {
  const all: Record<string, ReadinessItemView> = {};
  for (const [name, item] of Object.entries(view.provider)) all[`provider.${name}`] = item;
  for (const ocn of view.ocns) for (const [name, item] of Object.entries(ocn.items)) all[`${ocn.ocn}.${name}`] = item;
  return all;
}

const frn = () => String(randomInt(0, 10_000_000_000)).padStart(10, '0');

/**
 * Issue 5 "done when": one real service process with the embedded sandbox (as `npm start`
 * runs it), onboarded through the CLI and `clm demo` only: the readiness checklist says what is
 * missing or failing and why, the demo gets a certificate active in under 30 s and ends with
 * every item ok; providers, renew, revoke and readiness exit codes as an operator sees them.
 */
describe('onboarding journey against the embedded sandbox (e2e)', () => {
  let db: TestDatabase;
  let dataDir: string;
  let clm: ClmProcess;
  let stiPaBaseUrl: string;
  const cli = (...args: string[]) => runCli({ server: clm.baseUrl, token: E2E_ADMIN_TOKEN }, ...args);
  const readiness = async (providerId: string) => {
    const answer = await api<Readiness>(clm, 'GET', `/api/v1/providers/${providerId}/readiness`);
    expect(answer.status).toBe(200);
    return answer.json;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'clm-onboarding-'));
    clm = await startClm({
      DATABASE_URL: db.url,
      CLM_DATA_DIR: dataDir,
      CLM_SANDBOX: 'embedded',
      CLM_SANDBOX_PORT: '0',
      CLM_ADMIN_TOKEN: E2E_ADMIN_TOKEN,
      CLM_JOBS_ENABLED: 'true',
      CLM_PROCUREMENT_POLL_INTERVAL_MS: '200',
    });
    const cas = await api<{ name: string; directoryUrl: string }[]>(clm, 'GET', '/api/v1/sti-cas');
    const sandboxCa = cas.json.find((ca) => ca.name === 'Sandbox STI-CA');
    expect(sandboxCa, 'the embedded default registers the sandbox STI-CA').toBeDefined();
    stiPaBaseUrl = `${new URL(sandboxCa!.directoryUrl).origin}/sti-pa/api/v1`;
  });
  afterAll(async () => {
    await clm?.stop();
    await db?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('readiness names what is missing before onboarding is complete, and a wrong STI-PA password as failing', async () => {
    const added = await cli('providers', 'add', '--legal-name', 'Partial Telecom LLC', '--frn', frn(), '--email', 'stir@partial.example', '--ocn', '709J');
    expect(added.code, added.stderr).toBe(0);
    const providerId = added.stdout.trim();
    expect(providerId).toMatch(/^[0-9a-f-]{36}$/);

    const before = await cli('readiness', providerId);
    expect(before.code).toBe(1);
    expect(before.stdout).toMatch(/^OCN\s+ITEM\s+STATUS\s+NEXT STEP$/m);
    expect(before.stdout).toMatch(/^\(all\)\s+stiPaAccount\s+missing\s+PUT \/api\/v1\/providers\/\S+\/sti-pa-account/m);
    expect(before.stdout).toMatch(/^709J\s+activeCertificate\s+missing\s+clm certs request --provider/m);
    expect(before.stdout).toContain('not ready: 8 missing, 0 failing');

    let view = await readiness(providerId);
    expect(view.ready).toBe(false);
    const missingNow = items(view);
    expect(Object.fromEntries(Object.entries(missingNow).map(([k, v]) => [k, v.status]))).toEqual({
      'provider.frn': 'ok', 'provider.filer499': 'missing', 'provider.rmd': 'missing', 'provider.stiPaAccount': 'missing', 'provider.signing': 'ok', 'provider.ocns': 'ok',
      '709J.frn': 'ok', '709J.filer499': 'missing', '709J.rmd': 'missing', '709J.stiPaAccount': 'missing', '709J.signing': 'ok',
      '709J.stiCaAccount': 'missing', '709J.spcToken': 'missing', '709J.activeCertificate': 'missing', '709J.publishedUrl': 'missing', '709J.signer': 'missing',
    });
    expect(missingNow['provider.filer499']!.reason).toMatch(/499-A/);
    expect(missingNow['provider.rmd']!.nextStep).toContain(`PATCH /api/v1/providers/${providerId}`);
    expect(missingNow['709J.stiCaAccount']!.reason).toMatch(/no ACME account/);
    expect(missingNow['709J.activeCertificate']!.reason).toBe('no certificate has been requested for OCN 709J');
    expect(missingNow['709J.signer']!.nextStep).toBe('clm signer create --name <SBC name> --ocn 709J (POST /api/v1/signers)');
    expect(missingNow['provider.frn']!.nextStep).toBeNull();

    const wrong = await api(clm, 'PUT', `/api/v1/providers/${providerId}/sti-pa-account`, { environment: 'sandbox', baseUrl: stiPaBaseUrl, userId: 'demo', password: 'not-the-password' });
    expect(wrong.status).toBe(200);
    const started = performance.now();
    view = await readiness(providerId);
    expect(performance.now() - started).toBeLessThan(10_000);
    const failingNow = items(view);
    expect(failingNow['provider.stiPaAccount']).toMatchObject({ status: 'failing', reason: expect.stringContaining('STI_PA.BAD_CREDENTIALS') });
    expect(failingNow['provider.stiPaAccount']!.nextStep).toMatch(/sti-pa-account with the API user's current password/);
    expect(failingNow['709J.spcToken']).toMatchObject({ status: 'failing', reason: expect.stringMatching(/STI-PA login fails/) });
    expect((await cli('readiness', providerId)).stdout).toContain('not ready: 6 missing, 2 failing');

    await api(clm, 'PUT', `/api/v1/providers/${providerId}/sti-pa-account`, { environment: 'sandbox', baseUrl: stiPaBaseUrl, userId: 'demo', password: 'demo-password' });
    const fixed = items(await readiness(providerId));
    expect(fixed['provider.stiPaAccount']).toMatchObject({ status: 'ok', reason: `logged in as demo at ${stiPaBaseUrl} (sandbox)` });
    // The token is bound to the ACME account key, which the first order creates.
    expect(fixed['709J.spcToken']).toMatchObject({ status: 'missing', reason: expect.stringMatching(/no ACME account/) });
  });

  it('clm demo: onboarding → certificate active in under 30 s, and readiness all ok once the signer exists', async () => {
    const run = await cli('demo');
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    for (let step = 1; step <= 8; step++) expect(run.stdout).toContain(`[${step}/8] `);
    const providerId = /\[3\/8\] provider "Demo Telecom LLC" ([0-9a-f-]{36}): FRN \d{10}, 499-A \d{6}, RMD\d+, OCN 818H/.exec(run.stdout)?.[1];
    expect(providerId, run.stdout).toBeDefined();
    const [, amount, unit] = /onboarding → certificate active in ([\d.]+) (ms|s)\./.exec(run.stdout) ?? [];
    const activeMs = Number(amount) * (unit === 's' ? 1_000 : 1);
    expect(activeMs).toBeGreaterThan(0);
    expect(activeMs).toBeLessThan(30_000);

    const view = await readiness(providerId!);
    expect(view.ocns.map((o) => o.ocn)).toEqual(['818H']);
    const notOk = Object.entries(items(view)).filter(([, item]) => item.status !== 'ok');
    expect(notOk).toEqual([]);
    expect(view.ready).toBe(true);

    const certificates = (await api<CertificateView[]>(clm, 'GET', '/api/v1/certificates?ocn=818H')).json;
    const active = certificates.filter((c) => c.state === 'active');
    expect(active).toHaveLength(1);
    expect(run.stdout).toContain(`published at x5u ${active[0]!.x5u}`);
    expect(items(view)['818H.publishedUrl']!.reason).toContain(`${active[0]!.x5u} passed the verifier check`);

    const shown = await cli('readiness', providerId!);
    expect(shown.code, shown.stdout).toBe(0);
    expect(shown.stdout).toContain('ready: every item ok for Demo Telecom LLC (818H)');

    // Without a signer the OCN is not ready: readiness says so and exits 1.
    const signerId = /signer "demo-sbc-818H-[0-9a-f]+" \(([0-9a-f-]{36})\)/.exec(run.stdout)?.[1];
    expect((await api(clm, 'POST', `/api/v1/signers/${signerId}/disable`)).status).toBeLessThan(300);
    const withoutSigner = await cli('readiness', providerId!);
    expect(withoutSigner.code).toBe(1);
    expect(withoutSigner.stdout).toMatch(/^818H\s+signer\s+missing\s+clm signer create --name <SBC name> --ocn 818H/m);
    expect(withoutSigner.stdout).toContain('818H signer: no enabled signer client may pull OCN 818H (1 disabled)');
  });

  it('a second clm demo reuses the demo provider of the first run and replaces its certificate', async () => {
    const before = (await api<CertificateView[]>(clm, 'GET', '/api/v1/certificates?ocn=818H&state=active')).json;
    const run = await cli('demo');
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`\\[3/8\\] OCN 818H belongs to the demo provider ${before[0]!.providerId} of an earlier run: reusing it`));
    const certificates = (await api<CertificateView[]>(clm, 'GET', '/api/v1/certificates?ocn=818H')).json;
    expect(certificates.find((c) => c.id === before[0]!.id)?.state).toBe('superseded');
    expect(certificates.filter((c) => c.state === 'active').map((c) => c.id)).not.toContain(before[0]!.id);
    expect(run.stdout).toContain('ready: every item ok');
  });

  it('clm providers add|list: a table of providers; each bad field named, exit 1', async () => {
    const refused = await cli('providers', 'add', '--legal-name', 'Bad Fields LLC', '--frn', '12345', '--filer499', '12', '--rmd', 'RMDX', '--email', 'not-an-email');
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    for (const field of ['frn must be the 10-digit', 'filer499Id must be the 6-digit', 'rmdNumber must be RMD', 'contactEmail must be an email']) expect(refused.stderr).toContain(field);

    const number = frn();
    const added = await cli('providers', 'add', '--legal-name', 'Listed Voice LLC', '--frn', number, '--filer499', '831234', '--rmd', 'RMD0012345', '--email', 'stir@listed.example', '--ocn', 'LV01', 'LV02');
    expect(added.code, added.stderr).toBe(0);
    const id = added.stdout.trim();
    expect(added.stderr).toContain(`clm readiness ${id}`);
    const taken = await cli('providers', 'add', '--legal-name', 'Copy LLC', '--frn', number, '--email', 'x@copy.example');
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/^clm: PROVIDER\.FRN_TAKEN: /);

    const listed = await cli('providers', 'list');
    expect(listed.code, listed.stderr).toBe(0);
    const [header, ...rows] = listed.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID\s+LEGAL NAME\s+FRN\s+499-A\s+RMD\s+OCNS\s+STI-PA USER\s+NOTE$/);
    const row = rows.find((r) => r.startsWith(id));
    expect(row?.split(/\s{2,}/)).toEqual([id, 'Listed Voice LLC', number, '831234', 'RMD0012345', 'LV01 LV02', '-']);
    expect(rows.some((r) => /Demo Telecom LLC\s+\d{10}\s+\d{6}\s+RMD\d+\s+818H\s+demo \(sandbox\)/.test(r))).toBe(true);
  });

  it('clm certs renew and revoke [--replace]: the OCN keeps an active certificate throughout', async () => {
    const [current] = (await api<CertificateView[]>(clm, 'GET', '/api/v1/certificates?ocn=818H&state=active')).json;
    const renewed = await cli('certs', 'renew', current!.id);
    expect(renewed.code, renewed.stderr).toBe(0);
    const renewalId = renewed.stdout.trim();
    expect(renewalId).toMatch(/^[0-9a-f-]{36}$/);
    expect(renewed.stderr).toContain(`${current!.id} stays active until it is`);
    await waitForCertificate(clm, renewalId, (c) => c.state === 'active');
    expect((await api<CertificateView>(clm, 'GET', `/api/v1/certificates/${current!.id}`)).json.state).toBe('superseded');

    const replaced = await cli('certs', 'revoke', renewalId, '--reason', 'keyCompromise', '--replace');
    expect(replaced.code, replaced.stderr).toBe(0);
    const replacementId = replaced.stdout.trim();
    expect(replacementId).toMatch(/^[0-9a-f-]{36}$/);
    expect(replacementId).not.toBe(renewalId);
    expect(replaced.stderr).toContain('revocation pending');
    await waitForCertificate(clm, replacementId, (c) => c.state === 'active');
    const shown = await cli('certs', 'show', renewalId);
    expect(shown.stdout).toMatch(/revocation\.requested/);

    const revoked = await cli('certs', 'revoke', current!.id, '--reason', 'superseded');
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toBe('');
    expect(revoked.stderr).toBe(`revoked ${current!.id} (superseded); it is revoked\n`);
    expect((await api<CertificateView>(clm, 'GET', `/api/v1/certificates/${current!.id}`)).json.state).toBe('revoked');

    const badReason = await cli('certs', 'revoke', replacementId, '--reason', 'boredom');
    expect(badReason.code).toBe(1);
    expect(badReason.stderr).toContain('reason must be one of unspecified, keyCompromise');
    expect((await api<CertificateView>(clm, 'GET', `/api/v1/certificates/${replacementId}`)).json.state).toBe('active');
  });

  it('the readiness checklist is in the OpenAPI document, with its item shape', async () => {
    const doc = (await (await fetch(`${clm.baseUrl}/docs/openapi.json`)).json()) as {
      paths: Record<string, { get?: { responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }> } }>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    const get = doc.paths['/api/v1/providers/{id}/readiness']?.get;
    expect(get?.responses['200']?.content?.['application/json']?.schema.$ref).toBe('#/components/schemas/ProviderReadinessView');
    expect(Object.keys(doc.components.schemas.OcnReadinessItemsView?.properties ?? {})).toEqual(
      ['frn', 'filer499', 'rmd', 'stiPaAccount', 'signing', 'stiCaAccount', 'spcToken', 'activeCertificate', 'publishedUrl', 'signer'],
    );
    expect(doc.components.schemas.ReadinessItemView?.properties).toMatchObject({ status: { enum: ['ok', 'missing', 'failing'] } });
  });

  it('clm readiness and clm demo fail with one clear line (unknown provider, no service)', async () => {
    const unknown = await cli('readiness', '00000000-0000-4000-8000-000000000000');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^clm: PROVIDER\.NOT_FOUND: no provider 00000000-0000-4000-8000-000000000000/);

    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const offline = await runCli({ server: nowhere, token: E2E_ADMIN_TOKEN }, 'demo');
    expect(offline.code).toBe(1);
    expect(offline.stderr).toMatch(new RegExp(`^clm demo: no shaken-clm service answers at ${nowhere.replace(/\./g, '\\.')} .*start it with \`npm start\``));
  });
});
