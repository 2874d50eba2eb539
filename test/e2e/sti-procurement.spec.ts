import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AcmeClient, RevocationReason } from '@app/acme';
import {
  buildShakenCsr,
  checkIssuedCertificate,
  checkNotRevoked,
  generateP256KeyPair,
  lintCertificate,
  parseCertificate,
  parseCertificateChain,
  parseCrl,
  pemEncode,
  serialHex,
  tnAuthListForSpc,
  verifyCertificateChain,
  type CryptoKeyPair,
  type X509Certificate,
} from '@app/shaken';
import { StiPaClient } from '@app/sti-pa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandboxProcess, type SandboxProcess } from '../support/sandbox.js';

const run = promisify(execFile);

/** Runs the real openssl binary; returns exit status and both streams (openssl 3.0 exits 0 on some failures). */
async function openssl(args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run('openssl', args);
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : 1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

const SPC = '818H';
const LEGAL_NAME = 'Demo Telecom LLC';

describe('SHAKEN certificate procurement against the sandbox, with @app/sti-pa and @app/acme only', () => {
  let sandbox: SandboxProcess;
  let stiPa: StiPaClient;
  let acme: AcmeClient;
  let work: string;
  let certificateKeys: CryptoKeyPair;
  let chainPem: string;
  let leaf: X509Certificate;
  let crlSigner: X509Certificate;

  beforeAll(async () => {
    sandbox = await startSandboxProcess();
    work = await mkdtemp(join(tmpdir(), 'sti-e2e-'));
    stiPa = new StiPaClient({
      baseUrl: sandbox.stiPaApi,
      credentials: { userId: 'demo', password: 'demo-password' },
      stiPaRootsPem: sandbox.stiPaRootPem,
      transport: { trustedCaPem: sandbox.tlsRootPem, requestTimeoutMs: 10_000 },
    });
    acme = new AcmeClient({
      directoryUrl: sandbox.acmeDirectory,
      accountKey: await generateP256KeyPair(),
      transport: { trustedCaPem: sandbox.tlsRootPem, requestTimeoutMs: 10_000 },
      polling: { defaultIntervalMs: 100, maxIntervalMs: 1_000 },
    });
    crlSigner = parseCertificate(await readFile(sandbox.paths.stiPaCrlSigner, 'utf8'));
  });

  afterAll(async () => {
    await acme?.close();
    await stiPa?.close();
    await sandbox?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('gets the approved CA list, verified against the pinned STI-PA root, with the sandbox STI-CA root on it', async () => {
    const caList = await stiPa.getCaList();
    expect(caList.trustListPem).toEqual([sandbox.stiCaRootPem]);
    expect(caList.expiresAt.getTime()).toBeGreaterThan(Date.now());
    expect(caList.signer.issuer).toContain('STI-PA Sandbox ROOT');
  });

  it('logs in, gets an SPC token, orders, answers tkauth-01, finalizes and downloads the chain', async () => {
    await acme.createAccount({ contact: ['mailto:noc@demo-telecom.example'], termsOfServiceAgreed: true });
    const tnAuthList = tnAuthListForSpc(SPC);
    const order = await acme.createOrder({ identifiers: [{ type: 'TNAuthList', der: tnAuthList }] });
    expect(order.status).toBe('pending');
    expect(order.identifiers).toEqual([{ type: 'TNAuthList', value: Buffer.from(tnAuthList).toString('base64url') }]);

    let crlDistributionPoint: { url: string; issuerDn: string } | undefined;
    const fingerprint = await acme.accountKeyFingerprint();
    expect(fingerprint).toMatch(/^SHA256 [0-9A-F]{2}(:[0-9A-F]{2}){31}$/);
    const authorization = await acme.completeTkauthChallenge({
      authzUrl: order.authorizations[0] as string,
      getToken: async () => {
        const grant = await stiPa.requestSpcToken({ ocn: SPC, fingerprint });
        expect(grant.crlUrl).toBe(sandbox.stiPaCrl);
        crlDistributionPoint = { url: grant.crlUrl as string, issuerDn: grant.crlIssuer as string };
        return grant.token;
      },
    });
    expect(authorization.status).toBe('valid');

    certificateKeys = await generateP256KeyPair();
    const csr = await buildShakenCsr({ keys: certificateKeys, legalName: LEGAL_NAME, spc: SPC, crlDistributionPoint });
    const finalized = await acme.finalizeOrder(order, csr.der);
    expect(finalized.status).toBe('valid');
    const download = await acme.downloadCertificate(finalized);
    chainPem = download.pem;
    expect(download.certificates).toHaveLength(2);

    const caList = await stiPa.getCaList();
    const crl = parseCrl((await stiPa.downloadCrl()).der);
    const checked = await checkIssuedCertificate({
      chain: chainPem,
      publicKey: certificateKeys.publicKey,
      tnAuthList,
      trustAnchors: caList.trustAnchors,
      crl: { crl, issuer: crlSigner },
      now: new Date(),
    });
    leaf = checked.leaf;
    expect(leaf.subject).toMatch(new RegExp(`^C=US, O=${LEGAL_NAME}, CN=SHAKEN ${SPC}, `));
    expect(checked.path.slice(1).map((certificate) => certificate.subject)).toEqual([
      'C=US, O=STI Sandbox CA, CN=STI Sandbox SHAKEN Intermediate',
      'C=US, O=STI Sandbox CA, CN=STI Sandbox SHAKEN ROOT',
    ]);
  });

  it('issued a certificate the SHAKEN linter passes with zero findings, as it does the intermediate', () => {
    expect(lintCertificate(leaf)).toEqual([]);
    const [, intermediate] = parseCertificateChain(chainPem);
    expect(lintCertificate(intermediate as X509Certificate)).toEqual([]);
  });

  it('the STI-PA CRL is signed by the STI-PA CRL signer, which chains to the STI-PA root', async () => {
    await verifyCertificateChain(crlSigner, { trustAnchors: [parseCertificate(sandbox.stiPaRootPem)], at: new Date() });
    expect(crlSigner.subject).toBe('L=Bridgewater, ST=NJ, CN=STI-PA CRL, C=US, O=STI-PA');
  });

  it('OpenSSL verifies the chain against the sandbox STI-CA root, with -crl_check and the STI-PA CRL', async () => {
    const files = await writeVerificationFiles('before-revocation');
    const crlText = await openssl(['crl', '-in', files.crl, '-noout', '-CAfile', files.stiPaTrust]);
    expect(crlText.output).toContain('verify OK');
    const result = await openssl(['verify', '-CAfile', files.root, '-untrusted', files.untrusted, '-crl_check', '-extended_crl', '-CRLfile', files.crl, files.leaf]);
    expect(result.output).toContain(`${files.leaf}: OK`);
    expect(result.code).toBe(0);
  });

  it('after revokeCert the serial is on the STI-PA CRL and both our check and OpenSSL refuse the certificate', async () => {
    await acme.revokeCertificate(new Uint8Array(leaf.rawData), { reason: RevocationReason.keyCompromise });
    const crl = parseCrl((await stiPa.downloadCrl()).der);
    const entry = crl.findRevoked(serialHex(leaf));
    expect(entry).not.toBeNull();
    expect(entry?.reason).toBe(RevocationReason.keyCompromise);
    expect(() => checkNotRevoked([leaf], crl)).toThrow(expect.objectContaining({ code: 'CERT.REVOKED' }));

    const files = await writeVerificationFiles('after-revocation');
    const result = await openssl(['verify', '-CAfile', files.root, '-untrusted', files.untrusted, '-crl_check', '-extended_crl', '-CRLfile', files.crl, files.leaf]);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('certificate revoked');
  });

  /** Leaf, sandbox STI-CA root, intermediate + the STI-PA CRL key's certificate under that root, and the CRL as served now. */
  async function writeVerificationFiles(name: string) {
    const [intermediatePem] = parseCertificateChain(chainPem).slice(1).map((certificate) => pemEncode(certificate.rawData, 'CERTIFICATE'));
    const crlDer = (await stiPa.downloadCrl()).der;
    const files = {
      leaf: join(work, `${name}-leaf.pem`),
      root: sandbox.paths.stiCaRoot,
      untrusted: join(work, `${name}-untrusted.pem`),
      crl: join(work, `${name}-crl.pem`),
      stiPaTrust: join(work, `${name}-sti-pa-trust.pem`),
    };
    await writeFile(files.leaf, pemEncode(leaf.rawData, 'CERTIFICATE'));
    await writeFile(files.untrusted, `${intermediatePem}${await readFile(sandbox.paths.stiPaCrlSignerByStiCa, 'utf8')}`);
    await writeFile(files.crl, pemEncode(crlDer, 'X509 CRL'));
    await writeFile(files.stiPaTrust, `${sandbox.stiPaRootPem}${await readFile(sandbox.paths.stiPaCrlSigner, 'utf8')}`);
    return files;
  }
});
