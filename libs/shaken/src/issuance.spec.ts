import 'reflect-metadata';
import { createHash, createPublicKey, X509Certificate as NodeX509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { AuthorityKeyIdentifierExtension, SubjectKeyIdentifierExtension, X509Certificate } from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { buildTestPki, DAY_MS, STI_PA_CRL_ISSUER_DN, STI_PA_CRL_URL } from './testing/pki.js';
import { certificateToPem, parseCrl, crlToPem } from './certificate.js';
import { ShakenError } from './errors.js';
import {
  SHAKEN_CP_1_4_OID,
  createCaCertificate,
  createCrl,
  issueEndEntityCertificate,
  issueShakenCertificate,
  randomSerial,
} from './issuance.js';
import { generateP256KeyPair } from './keys.js';
import { lintCertificate } from './lint/index.js';
import { readTnAuthList } from './tn-auth-list.js';

const golden = new X509Certificate(readFileSync('/work/shared/fixtures/real-certs/golden-martini-709J.pem', 'utf8'));
const hexOf = (buffer: ArrayBuffer) => Buffer.from(buffer).toString('hex');
const extensionValue = (certificate: X509Certificate, oid: string) => {
  const found = certificate.extensions.filter((extension) => extension.type === oid);
  expect(found).toHaveLength(1);
  return hexOf((found[0] as { value: ArrayBuffer }).value);
};

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ShakenError);
  return (error as ShakenError).code;
}

/** RFC 5280 §4.2.1.2 (1), computed from Node's view of the key rather than ours. */
function sha1OfPoint(certificate: X509Certificate): string {
  const jwk = createPublicKey({ key: Buffer.from(certificate.publicKey.rawData), format: 'der', type: 'spki' }).export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x as string, 'base64url'), Buffer.from(jwk.y as string, 'base64url')]);
  return createHash('sha1').update(point).digest('hex');
}

describe('issueShakenCertificate: the ATIS-1000080 v005 end-entity profile', () => {
  it('writes the same extension bytes as the golden Martini certificate, in the same order', async () => {
    const pki = await buildTestPki();
    const leaf = pki.leaf;
    expect(leaf.extensions.map((extension) => [extension.type, extension.critical])).toEqual(
      golden.extensions.map((extension) => [extension.type, extension.critical]),
    );
    for (const oid of ['2.5.29.15', '2.5.29.19', '2.5.29.31', '2.5.29.32']) {
      expect(extensionValue(leaf, oid)).toBe(extensionValue(golden, oid));
    }
    expect(extensionValue(leaf, '2.5.29.15')).toBe('03020780');
    expect(extensionValue(leaf, '1.3.6.1.5.5.7.1.26')).toBe('3008a006160438313848');
    expect(readTnAuthList(leaf)).toEqual([{ kind: 'spc', spc: '818H' }]);
  });

  it('is v3, ecdsa-with-SHA256, has a positive 20-octet random serial, SKI = SHA-1 of the key, AKI = issuer SKI', async () => {
    const pki = await buildTestPki();
    const asn = AsnConvert.parse(pki.leaf.rawData, Certificate);
    expect(asn.tbsCertificate.version).toBe(2);
    expect(asn.signatureAlgorithm.algorithm).toBe('1.2.840.10045.4.3.2');
    const serial = Buffer.from(asn.tbsCertificate.serialNumber);
    expect(serial.byteLength).toBe(20);
    expect((serial[0] as number) & 0x80).toBe(0);
    expect(serial[0]).not.toBe(0);
    expect(pki.leaf.getExtension(SubjectKeyIdentifierExtension)?.keyId).toBe(sha1OfPoint(pki.leaf));
    expect(pki.leaf.getExtension(AuthorityKeyIdentifierExtension)?.keyId).toBe(sha1OfPoint(pki.intermediate));
    expect(pki.intermediate.getExtension(AuthorityKeyIdentifierExtension)?.keyId).toBe(sha1OfPoint(pki.root));
  });

  it('writes subject C, O, CN = "SHAKEN <SPC>" and a serialNumber, which Node reads back', async () => {
    const pki = await buildTestPki({ legalName: 'Example Telecom, LLC' });
    const node = new NodeX509Certificate(certificateToPem(pki.leaf));
    expect(node.subject).toMatch(/^C=US\nO=Example Telecom\\, LLC\nCN=SHAKEN 818H\nserialNumber=[0-9A-F]{32}$/);
    expect(node.ca).toBe(false);
    expect(node.verify(new NodeX509Certificate(certificateToPem(pki.intermediate)).publicKey)).toBe(true);
    expect(node.checkIssued(new NodeX509Certificate(certificateToPem(pki.intermediate)))).toBe(true);
  });

  it('leaves the subject serialNumber out on request and asserts CP 1.4 when asked', async () => {
    const pki = await buildTestPki();
    const keys = await generateP256KeyPair();
    const leaf = await issueShakenCertificate({
      issuer: { certificate: pki.intermediate, privateKey: pki.intermediateKeys.privateKey },
      subjectPublicKey: keys.publicKey,
      spc: '709J',
      legalName: 'Other',
      notBefore: pki.now,
      notAfter: new Date(pki.now.getTime() + 30 * DAY_MS),
      crlUrl: STI_PA_CRL_URL,
      crlIssuerDn: STI_PA_CRL_ISSUER_DN,
      policyOid: SHAKEN_CP_1_4_OID,
      subjectSerialNumber: null,
      serial: '7f01',
    });
    expect(leaf.subject).toBe('C=US, O=Other, CN=SHAKEN 709J');
    expect(extensionValue(leaf, '2.5.29.32')).toBe('300e300c060a6086480186ff09010104');
    expect(leaf.serialNumber).toBe('7f01');
  });

  it('gives every certificate a different serial', () => {
    const serials = new Set(Array.from({ length: 200 }, randomSerial));
    expect(serials.size).toBe(200);
    for (const serial of serials) expect(serial).toMatch(/^(?:[1-7][0-9a-f]|0[1-9a-f])[0-9a-f]{38}$/);
  });
});

describe('createCaCertificate', () => {
  it('makes a self-signed root with keyCertSign only, AKI = SKI, no CRL point and no policies', async () => {
    const { root } = await buildTestPki();
    expect(root.subject).toBe(root.issuer);
    expect(await root.isSelfSigned()).toBe(true);
    expect(root.extensions.map((extension) => extension.type)).toEqual(['2.5.29.15', '2.5.29.19', '2.5.29.14', '2.5.29.35']);
    expect(extensionValue(root, '2.5.29.15')).toBe('03020204');
    expect(extensionValue(root, '2.5.29.19')).toBe('30030101ff');
    const node = new NodeX509Certificate(certificateToPem(root));
    expect(node.ca).toBe(true);
    expect(node.verify(node.publicKey)).toBe(true);
  });

  it('makes an intermediate with the STI-PA CRL point and CP 1.3', async () => {
    const { intermediate, root } = await buildTestPki();
    expect(intermediate.extensions.map((extension) => extension.type)).toEqual([
      '2.5.29.15',
      '2.5.29.19',
      '2.5.29.14',
      '2.5.29.35',
      '2.5.29.31',
      '2.5.29.32',
    ]);
    expect(extensionValue(intermediate, '2.5.29.31')).toBe(extensionValue(golden, '2.5.29.31'));
    expect(new NodeX509Certificate(certificateToPem(intermediate)).checkIssued(new NodeX509Certificate(certificateToPem(root)))).toBe(true);
  });

  it('refuses profiles ATIS-1000080 v005 forbids', async () => {
    const keys = await generateP256KeyPair();
    const base = { keys, subjectDn: 'C=US, O=X, CN=X SHAKEN ROOT', notBefore: new Date(0), notAfter: new Date(DAY_MS) };
    expect(await codeOf(createCaCertificate({ ...base, crl: { url: STI_PA_CRL_URL, issuerDn: STI_PA_CRL_ISSUER_DN } }))).toBe(
      'ISSUANCE.INVALID_PROFILE',
    );
    expect(await codeOf(createCaCertificate({ ...base, policyOid: SHAKEN_CP_1_4_OID }))).toBe('ISSUANCE.INVALID_PROFILE');
    expect(await codeOf(createCaCertificate({ ...base, keyUsage: ['cRLSign'] }))).toBe('ISSUANCE.INVALID_KEY_USAGE');
    const root = await createCaCertificate(base);
    expect(
      await codeOf(createCaCertificate({ ...base, subjectDn: 'C=US, O=X, CN=X SHAKEN', issuer: { certificate: root, privateKey: keys.privateKey } })),
    ).toBe('ISSUANCE.INVALID_PROFILE');
  });
});

describe('issued certificates and the SHAKEN linter', () => {
  it('root, intermediate and leaf (CP 1.3 and 1.4) have zero findings', async () => {
    const pki = await buildTestPki();
    const keys = await generateP256KeyPair();
    const cp14 = await issueShakenCertificate({
      issuer: { certificate: pki.intermediate, privateKey: pki.intermediateKeys.privateKey },
      subjectPublicKey: keys.publicKey,
      spc: '709J',
      legalName: 'Other Telecom',
      notBefore: pki.now,
      notAfter: new Date(pki.now.getTime() + 90 * DAY_MS),
      crlUrl: STI_PA_CRL_URL,
      crlIssuerDn: STI_PA_CRL_ISSUER_DN,
      policyOid: SHAKEN_CP_1_4_OID,
    });
    for (const certificate of [pki.root, pki.intermediate, pki.leaf, cp14]) {
      expect(lintCertificate(certificate, { now: pki.now })).toEqual([]);
    }
  });
});

describe('issuance errors', () => {
  it.each([
    ['an odd-length serial', { serial: 'abc' }, 'ISSUANCE.INVALID_SERIAL'],
    ['a zero serial', { serial: '0000' }, 'ISSUANCE.INVALID_SERIAL'],
    ['a serial over 20 octets', { serial: '01'.repeat(21) }, 'ISSUANCE.INVALID_SERIAL'],
    ['a negative-looking 20-octet serial', { serial: `80${'01'.repeat(19)}` }, 'ISSUANCE.INVALID_SERIAL'],
    ['notAfter before notBefore', { notAfter: new Date(0) }, 'ISSUANCE.INVALID_VALIDITY'],
    ['an invalid date', { notBefore: new Date(Number.NaN) }, 'ISSUANCE.INVALID_VALIDITY'],
    ['a foreign policy OID', { policyOid: '2.23.140.1.2.1' }, 'ISSUANCE.INVALID_POLICY'],
    ['an empty legal name', { legalName: ' ' }, 'ISSUANCE.INVALID_SUBJECT'],
    ['a lowercase country', { country: 'us' }, 'ISSUANCE.INVALID_SUBJECT'],
    ['a lowercase SPC', { spc: '818h' }, 'TN_AUTH_LIST.INVALID_SPC'],
    ['a CRL URL that is not http(s)', { crlUrl: 'ldap://x' }, 'ISSUANCE.INVALID_CRL_DISTRIBUTION_POINT'],
  ])('rejects %s', async (_what, override, code) => {
    const pki = await buildTestPki();
    const params = {
      issuer: { certificate: pki.intermediate, privateKey: pki.intermediateKeys.privateKey },
      subjectPublicKey: pki.leafKeys.publicKey,
      spc: '818H',
      legalName: 'X',
      notBefore: pki.now,
      notAfter: new Date(pki.now.getTime() + DAY_MS),
      crlUrl: STI_PA_CRL_URL,
      crlIssuerDn: STI_PA_CRL_ISSUER_DN,
      ...override,
    };
    expect(await codeOf(issueShakenCertificate(params))).toBe(code);
  });

  it('reports a signing key that cannot sign as ISSUANCE.SIGNING_FAILED', async () => {
    const pki = await buildTestPki();
    const promise = issueEndEntityCertificate({
      issuer: { certificate: pki.intermediate, privateKey: pki.intermediateKeys.publicKey },
      subjectPublicKey: pki.leafKeys.publicKey,
      subjectDn: 'C=US, O=STI-PA, CN=STI-PA token signer',
      notBefore: pki.now,
      notAfter: new Date(pki.now.getTime() + DAY_MS),
    });
    expect(await codeOf(promise)).toBe('ISSUANCE.SIGNING_FAILED');
  });
});

describe('createCrl', () => {
  it('makes a v2 CRL with AKI and CRL number, listing the revoked serials', async () => {
    const pki = await buildTestPki({ intermediateKeyUsage: ['keyCertSign', 'cRLSign'] });
    const crl = await createCrl({
      issuer: { certificate: pki.intermediate, privateKey: pki.intermediateKeys.privateKey },
      thisUpdate: pki.now,
      nextUpdate: new Date(pki.now.getTime() + DAY_MS),
      crlNumber: 42,
      entries: [{ serialNumber: pki.leaf.serialNumber, revocationDate: pki.now, reason: 1 }],
    });
    const reread = parseCrl(crlToPem(crl));
    expect(reread.version).toBe(1);
    expect(reread.issuer).toBe(pki.intermediate.subject);
    expect(reread.extensions.map((extension) => [extension.type, hexOf(extension.value)])).toEqual([
      ['2.5.29.35', `30168014${sha1OfPoint(pki.intermediate)}`],
      ['2.5.29.20', '02012a'],
    ]);
    expect(reread.findRevoked(pki.leaf)?.reason).toBe(1);
    expect(reread.findRevoked(pki.intermediate)).toBeNull();
    expect(await reread.verify({ publicKey: pki.intermediate.publicKey })).toBe(true);
  });

  it('rejects a bad CRL number and a bad entry serial', async () => {
    const pki = await buildTestPki();
    const base = {
      issuer: { certificate: pki.intermediate, privateKey: pki.intermediateKeys.privateKey },
      thisUpdate: pki.now,
      nextUpdate: new Date(pki.now.getTime() + DAY_MS),
    };
    expect(await codeOf(createCrl({ ...base, crlNumber: -1 }))).toBe('ISSUANCE.INVALID_CRL_NUMBER');
    expect(await codeOf(createCrl({ ...base, crlNumber: 1.5 }))).toBe('ISSUANCE.INVALID_CRL_NUMBER');
    expect(await codeOf(createCrl({ ...base, crlNumber: 1, entries: [{ serialNumber: 'xyz', revocationDate: pki.now }] }))).toBe(
      'ISSUANCE.INVALID_SERIAL',
    );
  });
});
