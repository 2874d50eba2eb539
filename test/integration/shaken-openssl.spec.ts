import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CryptoKeyPair,
  type TnAuthEntry,
  type X509Certificate,
  buildShakenCsr,
  certificateChainToPem,
  certificateToPem,
  checkIssuedCertificate,
  createCaCertificate,
  createCrl,
  createPassport,
  crlToPem,
  decodeTnAuthList,
  encodeTnAuthList,
  exportPrivateKeyPem,
  generateP256KeyPair,
  importPrivateKeyPem,
  issueShakenCertificate,
  parseCertificate,
  parseShakenCsr,
  readTnAuthList,
  signCompactJws,
  spkiDer,
  stiPaFingerprint,
  tnAuthListForSpc,
  verifyPassport,
} from '@app/shaken';

/**
 * OpenSSL 3.0 as a real, independent process checks what @app/shaken writes, and @app/shaken
 * reads what OpenSSL writes. OpenSSL 3.0's `req -verify` and `crl` exit 0 even when a signature
 * fails, so these tests read its output.
 */

const run = promisify(execFile);
let dir: string;

interface Result {
  code: number;
  out: string;
}

async function openssl(...args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await run('openssl', args, { cwd: dir, encoding: 'utf8' });
    return { code: 0, out: `${stdout}${stderr}` };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : 1, out: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

function file(name: string, content: string | Uint8Array): string {
  writeFileSync(join(dir, name), content);
  return name;
}

/** Raw ES256 R||S → DER ECDSA-Sig-Value, for `openssl dgst -verify`. */
function rawToDer(raw: Uint8Array): Uint8Array {
  const integer = (half: Uint8Array) => {
    let bytes = [...half];
    while (bytes.length > 1 && bytes[0] === 0) bytes = bytes.slice(1);
    if ((bytes[0] as number) & 0x80) bytes = [0, ...bytes];
    return [0x02, bytes.length, ...bytes];
  };
  const body = [...integer(raw.slice(0, 32)), ...integer(raw.slice(32))];
  return new Uint8Array([0x30, body.length, ...body]);
}

const DAY = 86_400_000;
const STI_PA_CRL = { url: 'https://authenticate-api.iconectiv.com/download/v1/crl', issuerDn: 'L=Bridgewater, ST=NJ, CN=STI-PA CRL, C=US, O=STI-PA' };

interface Pki {
  now: Date;
  rootKeys: CryptoKeyPair;
  root: X509Certificate;
  intermediateKeys: CryptoKeyPair;
  intermediate: X509Certificate;
  leafKeys: CryptoKeyPair;
  leaf: X509Certificate;
}

async function buildPki(): Promise<Pki> {
  const now = new Date();
  const [rootKeys, intermediateKeys, leafKeys] = await Promise.all([generateP256KeyPair(), generateP256KeyPair(), generateP256KeyPair()]);
  const root = await createCaCertificate({
    keys: rootKeys,
    subjectDn: 'C=US, O=Sandbox STI-CA, CN=Sandbox SHAKEN ROOT',
    notBefore: new Date(now.getTime() - DAY),
    notAfter: new Date(now.getTime() + 3650 * DAY),
  });
  // cRLSign so the intermediate can sign the direct CRL `openssl verify -crl_check` wants.
  const intermediate = await createCaCertificate({
    keys: intermediateKeys,
    subjectDn: 'C=US, O=Sandbox STI-CA, CN=Sandbox SHAKEN Intermediate',
    notBefore: new Date(now.getTime() - DAY),
    notAfter: new Date(now.getTime() + 1825 * DAY),
    issuer: { certificate: root, privateKey: rootKeys.privateKey },
    crl: STI_PA_CRL,
    keyUsage: ['keyCertSign', 'cRLSign'],
  });
  const leaf = await issueShakenCertificate({
    issuer: { certificate: intermediate, privateKey: intermediateKeys.privateKey },
    subjectPublicKey: leafKeys.publicKey,
    spc: '818H',
    legalName: 'Example Telecom LLC',
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + 90 * DAY),
    crlUrl: STI_PA_CRL.url,
    crlIssuerDn: STI_PA_CRL.issuerDn,
  });
  return { now, rootKeys, root, intermediateKeys, intermediate, leafKeys, leaf };
}

let pki: Pki;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shaken-openssl-'));
  pki = await buildPki();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('OpenSSL reads what @app/shaken writes', () => {
  it('verifies the self-signature of our SHAKEN CSR and shows its subject and extensions', async () => {
    const keys = await generateP256KeyPair();
    const csr = await buildShakenCsr({ keys, legalName: 'Example Telecom, LLC', spc: '818H', crlDistributionPoint: STI_PA_CRL });
    const result = await openssl('req', '-in', file('shaken.csr', csr.pem), '-noout', '-verify', '-text');
    expect(result.out).toContain('Certificate request self-signature verify OK');
    expect(result.out).toContain('Subject: C = US, O = "Example Telecom, LLC", CN = SHAKEN 818H');
    expect(result.out).toContain('Signature Algorithm: ecdsa-with-SHA256');
    expect(result.out).toContain('ASN1 OID: prime256v1');
    expect(result.out).toContain('1.3.6.1.5.5.7.1.26');
    expect(result.out).toContain('DirName:L = Bridgewater, ST = NJ, CN = STI-PA CRL, C = US, O = STI-PA');

    // The TNAuthList inside the extension request, parsed by OpenSSL down to the IA5String.
    const layout = await openssl('asn1parse', '-in', 'shaken.csr');
    const octet = layout.out.split('\n').find((line) => line.includes('[HEX DUMP]:3008A006160438313848'));
    expect(octet).toBeDefined();
    const offset = (octet as string).trim().split(':')[0] as string;
    const inner = await openssl('asn1parse', '-in', 'shaken.csr', '-strparse', offset);
    expect(inner.out).toMatch(/cont \[ 0 \]/);
    expect(inner.out).toMatch(/IA5STRING\s+:818H/);
  });

  it('reports a tampered CSR as failing verification (the check above can fail)', async () => {
    const keys = await generateP256KeyPair();
    const { der } = await buildShakenCsr({ keys, legalName: 'Example', spc: '818H' });
    const tampered = Buffer.from(der);
    tampered[tampered.indexOf(Buffer.from('Example'))] = 'F'.charCodeAt(0);
    const result = await openssl('req', '-inform', 'DER', '-in', file('tampered.csr', tampered), '-noout', '-verify');
    expect(result.out).not.toContain('verify OK');
    expect(result.out).toMatch(/verify failure|signature verify problem|bad signature/i);
  });

  it('decodes our TNAuthList DER', async () => {
    const entries: TnAuthEntry[] = [
      { kind: 'spc', spc: '818H' },
      { kind: 'range', start: '12025550100', count: 100 },
      { kind: 'one', tn: '12025550199' },
    ];
    const result = await openssl('asn1parse', '-inform', 'DER', '-i', '-in', file('tnauthlist.der', encodeTnAuthList(entries)));
    expect(result.code).toBe(0);
    const lines = result.out.split('\n').map((line) => line.replace(/^\s*\d+:d=\d+\s+hl=\d+\s+l=\s*\d+\s+/, '').trim());
    expect(lines.filter(Boolean)).toEqual([
      'cons: SEQUENCE',
      'cons:  cont [ 0 ]',
      'prim:   IA5STRING         :818H',
      'cons:  cont [ 1 ]',
      'cons:   SEQUENCE',
      'prim:    IA5STRING         :12025550100',
      'prim:    INTEGER           :64',
      'cons:  cont [ 2 ]',
      'prim:   IA5STRING         :12025550199',
    ]);
  });

  it('reads our SEC1 and PKCS#8 keys (openssl ec / pkey) as the same P-256 key', async () => {
    const keys = await generateP256KeyPair();
    const sec1 = await exportPrivateKeyPem(keys.privateKey, 'sec1');
    const pkcs8 = await exportPrivateKeyPem(keys.privateKey, 'pkcs8');
    const ec = await openssl('ec', '-in', file('key.sec1.pem', sec1), '-check', '-noout');
    expect(ec.out).toContain('EC Key valid.');
    // OpenSSL re-writes a SEC1 key byte for byte as we wrote it (curve OID and public key included).
    expect((await openssl('ec', '-in', 'key.sec1.pem', '-out', 'key.rewritten.pem')).code).toBe(0);
    expect(readFileSync(join(dir, 'key.rewritten.pem'), 'utf8')).toBe(sec1);
    const text = await openssl('pkey', '-in', file('key.pkcs8.pem', pkcs8), '-noout', '-text');
    expect(text.out).toContain('Private-Key: (256 bit)');
    expect(text.out).toContain('ASN1 OID: prime256v1');
    for (const name of ['key.sec1.pem', 'key.pkcs8.pem']) {
      await openssl('pkey', '-in', name, '-pubout', '-outform', 'DER', '-out', `${name}.spki`);
      expect(Buffer.from(readFileSync(join(dir, `${name}.spki`))).equals(Buffer.from(await spkiDer(keys.publicKey)))).toBe(true);
    }
  });

  it('verifies our ES256 JWS and PASSporT signatures with the certified public key', async () => {
    const jws = await createPassport({ attest: 'A', orig: '12155551212', dest: '12355551212', x5u: 'https://cr.example/818H.pem' }, pki.leafKeys.privateKey);
    const [h, p, s] = jws.split('.') as [string, string, string];
    file('passport.input', `${h}.${p}`);
    file('passport.sig', rawToDer(new Uint8Array(Buffer.from(s, 'base64url'))));
    file('leaf.pem', certificateToPem(pki.leaf));
    await openssl('x509', '-in', 'leaf.pem', '-pubkey', '-noout', '-out', 'leaf.pub');
    const ok = await openssl('dgst', '-sha256', '-verify', 'leaf.pub', '-signature', 'passport.sig', 'passport.input');
    expect(ok.out).toContain('Verified OK');
    file('passport.changed', `${h}.${p}x`);
    const bad = await openssl('dgst', '-sha256', '-verify', 'leaf.pub', '-signature', 'passport.sig', 'passport.changed');
    expect(bad.out).toContain('Verification failure');
  });
});

describe('OpenSSL verifies the chains and CRLs we issue', () => {
  beforeAll(() => {
    file('root.pem', certificateToPem(pki.root));
    file('int.pem', certificateToPem(pki.intermediate));
    file('leaf.pem', certificateToPem(pki.leaf));
  });

  async function crlListing(serials: string[]): Promise<string> {
    const crl = await createCrl({
      issuer: { certificate: pki.intermediate, privateKey: pki.intermediateKeys.privateKey },
      thisUpdate: new Date(pki.now.getTime() - 60_000),
      nextUpdate: new Date(pki.now.getTime() + DAY),
      crlNumber: serials.length + 1,
      entries: serials.map((serialNumber) => ({ serialNumber, revocationDate: pki.now })),
    });
    return crlToPem(crl);
  }

  it('openssl verify accepts root → intermediate → leaf, with an empty CRL', async () => {
    const plain = await openssl('verify', '-show_chain', '-CAfile', 'root.pem', '-untrusted', 'int.pem', 'leaf.pem');
    expect(plain.code).toBe(0);
    expect(plain.out).toContain('leaf.pem: OK');
    // The path OpenSSL built, leaf first ("depth=N: C = US, O = ..." lines), written as
    // @app/shaken writes names (`C=US, O=...`; the subject serialNumber by its OID).
    const opensslPath = [...plain.out.matchAll(/^depth=(\d+): (.+?)(?: \(untrusted\))?$/gm)]
      .map(([, , subject]) => subject!.replace(/ = /g, '=').replace(/\bserialNumber=/, '2.5.4.5='));
    file('empty.crl', await crlListing([]));
    const withCrl = await openssl('verify', '-CAfile', 'root.pem', '-untrusted', 'int.pem', '-crl_check', '-CRLfile', 'empty.crl', 'leaf.pem');
    expect(withCrl.code).toBe(0);
    expect(withCrl.out).toContain('leaf.pem: OK');
    const crlSignature = await openssl('crl', '-in', 'empty.crl', '-CAfile', 'int.pem', '-noout');
    expect(crlSignature.out).toContain('verify OK');
    // Our own checks agree, on the same path up to the same trust anchor.
    const checked = await checkIssuedCertificate({
      chain: certificateChainToPem([pki.leaf, pki.intermediate]),
      publicKey: pki.leafKeys.publicKey,
      tnAuthList: tnAuthListForSpc('818H'),
      trustAnchors: [pki.root],
      now: pki.now,
    });
    expect(opensslPath).toEqual([pki.leaf.subject, pki.intermediate.subject, pki.root.subject]);
    expect(checked.path.map((c) => c.subject)).toEqual(opensslPath);
    expect(checked.path.map((c) => Buffer.from(c.rawData).toString('base64'))).toEqual(
      [pki.leaf, pki.intermediate, pki.root].map((c) => Buffer.from(c.rawData).toString('base64')),
    );
    expect(Buffer.from(checked.leaf.rawData).equals(Buffer.from(pki.leaf.rawData))).toBe(true);
  });

  it('openssl verify fails on a revoked leaf, and so do we', async () => {
    file('revoked.crl', await crlListing([pki.leaf.serialNumber]));
    const result = await openssl('verify', '-CAfile', 'root.pem', '-untrusted', 'int.pem', '-crl_check', '-CRLfile', 'revoked.crl', 'leaf.pem');
    expect(result.code).not.toBe(0);
    expect(result.out).toContain('certificate revoked');
    const listed = await openssl('crl', '-in', 'revoked.crl', '-noout', '-text');
    expect(listed.out.replace(/\s/g, '')).toContain(`SerialNumber:${pki.leaf.serialNumber.toUpperCase()}`);
  });

  it('openssl verify fails without the intermediate or with another root', async () => {
    const missing = await openssl('verify', '-CAfile', 'root.pem', 'leaf.pem');
    expect(missing.code).not.toBe(0);
    expect(missing.out).toContain('unable to get local issuer certificate');
    const other = await buildPki();
    file('other-root.pem', certificateToPem(other.root));
    const wrongRoot = await openssl('verify', '-CAfile', 'other-root.pem', '-untrusted', 'int.pem', 'leaf.pem');
    expect(wrongRoot.code).not.toBe(0);
  });

  it('openssl x509 shows the ATIS-1000080 v005 profile', async () => {
    const text = (await openssl('x509', '-in', 'leaf.pem', '-noout', '-text')).out;
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\n/);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/Policy: 2\.16\.840\.1\.114569\.1\.1\.3/);
    expect(text).toMatch(/Subject: C = US, O = Example Telecom LLC, CN = SHAKEN 818H, serialNumber = [0-9A-F]{32}/);
  });
});

describe('@app/shaken reads what OpenSSL writes', () => {
  const TN_AUTH_LIST_CONF = [
    'asn1 = SEQUENCE:tnlist',
    '[tnlist]',
    'spc = EXPLICIT:0C,IA5STRING:818H',
    'range = EXPLICIT:1C,SEQUENCE:range',
    'one = EXPLICIT:2C,IA5STRING:12025550199',
    '[range]',
    'start = IA5STRING:12025550100',
    'count = INTEGER:100',
    '',
  ].join('\n');

  it('decodes a TNAuthList built by openssl asn1parse -genconf', async () => {
    const result = await openssl('asn1parse', '-genconf', file('tn.cnf', TN_AUTH_LIST_CONF), '-out', 'tn.der', '-noout');
    expect(result.code).toBe(0);
    expect(decodeTnAuthList(new Uint8Array(readFileSync(join(dir, 'tn.der'))))).toEqual([
      { kind: 'spc', spc: '818H' },
      { kind: 'range', start: '12025550100', count: 100 },
      { kind: 'one', tn: '12025550199' },
    ]);
  });

  it('reads the TNAuthList of a certificate and a CSR that openssl req makes, from an OpenSSL key', async () => {
    const config = [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      'req_extensions = shaken',
      'x509_extensions = shaken',
      '[dn]',
      'C = US',
      'O = OpenSSL Telecom',
      'CN = SHAKEN 709J',
      '[shaken]',
      '1.3.6.1.5.5.7.1.26 = ASN1:SEQUENCE:tnlist',
      '[tnlist]',
      'spc = EXPLICIT:0C,IA5STRING:709J',
      '',
    ].join('\n');
    file('req.cnf', config);
    expect((await openssl('ecparam', '-name', 'prime256v1', '-genkey', '-out', 'openssl.key')).code).toBe(0);
    expect((await openssl('req', '-new', '-key', 'openssl.key', '-config', 'req.cnf', '-out', 'openssl.csr')).code).toBe(0);
    expect((await openssl('req', '-x509', '-key', 'openssl.key', '-config', 'req.cnf', '-days', '30', '-out', 'openssl.crt')).code).toBe(0);

    const csr = await parseShakenCsr(readFileSync(join(dir, 'openssl.csr'), 'utf8'));
    expect(csr.signatureValid).toBe(true);
    expect(csr.spc).toBe('709J');
    expect(csr.subject.commonName).toEqual(['SHAKEN 709J']);
    const certificate = parseCertificate(readFileSync(join(dir, 'openssl.crt'), 'utf8'));
    expect(readTnAuthList(certificate)).toEqual([{ kind: 'spc', spc: '709J' }]);
  });

  it('imports a key from openssl ecparam -genkey (with its EC PARAMETERS block) and from openssl pkcs8', async () => {
    await openssl('ecparam', '-name', 'prime256v1', '-genkey', '-out', 'gen.key');
    const generated = readFileSync(join(dir, 'gen.key'), 'utf8');
    expect(generated).toContain('-----BEGIN EC PARAMETERS-----');
    const pair = await importPrivateKeyPem(generated);
    await openssl('pkcs8', '-topk8', '-nocrypt', '-in', 'gen.key', '-out', 'gen.pkcs8');
    const again = await importPrivateKeyPem(readFileSync(join(dir, 'gen.pkcs8'), 'utf8'));
    expect(Buffer.from(await spkiDer(again.publicKey)).equals(Buffer.from(await spkiDer(pair.publicKey)))).toBe(true);

    // Same public key, same STI-PA fingerprint as OpenSSL computes.
    await openssl('pkey', '-in', 'gen.key', '-pubout', '-outform', 'DER', '-out', 'gen.spki');
    expect(Buffer.from(await spkiDer(pair.publicKey)).equals(readFileSync(join(dir, 'gen.spki')))).toBe(true);
    const digest = await openssl('dgst', '-sha256', '-c', 'gen.spki');
    expect(await stiPaFingerprint(pair.publicKey)).toBe(`SHA256 ${(digest.out.split('= ')[1] as string).trim().toUpperCase()}`);

    // A signature made with the imported key verifies under OpenSSL with OpenSSL's key.
    const jws = await signCompactJws({ typ: 'JWT' }, { jti: 'x' }, pair.privateKey);
    const [h, p, s] = jws.split('.') as [string, string, string];
    file('jws.input', `${h}.${p}`);
    file('jws.sig', rawToDer(new Uint8Array(Buffer.from(s, 'base64url'))));
    await openssl('ec', '-in', 'gen.key', '-pubout', '-out', 'gen.pub');
    expect((await openssl('dgst', '-sha256', '-verify', 'gen.pub', '-signature', 'jws.sig', 'jws.input')).out).toContain('Verified OK');
  });

  it('verifies a PASSporT signed with an OpenSSL key under a certificate we issued', async () => {
    await openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'signer.key');
    const signer = await importPrivateKeyPem(readFileSync(join(dir, 'signer.key'), 'utf8'));
    const leaf = await issueShakenCertificate({
      issuer: { certificate: pki.intermediate, privateKey: pki.intermediateKeys.privateKey },
      subjectPublicKey: signer.publicKey,
      spc: '818H',
      legalName: 'Example Telecom LLC',
      notBefore: new Date(pki.now.getTime() - 60_000),
      notAfter: new Date(pki.now.getTime() + 30 * DAY),
      crlUrl: STI_PA_CRL.url,
      crlIssuerDn: STI_PA_CRL.issuerDn,
    });
    file('signer.crt', certificateToPem(leaf));
    const check = await openssl('x509', '-in', 'signer.crt', '-noout', '-pubkey');
    const fromKey = await openssl('pkey', '-in', 'signer.key', '-pubout');
    expect(check.out).toBe(fromKey.out);
    const jws = await createPassport({ attest: 'B', orig: '12155551212', dest: ['12355551212'], x5u: 'https://cr.example/1.pem' }, signer.privateKey);
    const verified = await verifyPassport(jws, {
      fetchChain: async () => certificateChainToPem([leaf, pki.intermediate]),
      trustAnchors: [pki.root],
      now: new Date(),
    });
    expect(verified.spc).toBe('818H');
  });
});
