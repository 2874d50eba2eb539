import 'reflect-metadata';
import {
  BasicConstraintsExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  X509CertificateGenerator,
  type X509Certificate,
} from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestPki, DAY_MS, STI_PA_CRL_ISSUER_DN, type TestPki } from './testing/pki.js';
import { certificateChainToPem, crlToPem, parseCertificate, parseCertificateChain, parseCrl } from './certificate.js';
import {
  checkCertificateKey,
  checkCertificateTnAuthList,
  checkCertificateValidity,
  checkIssuedCertificate,
  checkNotRevoked,
  verifyCertificateChain,
  verifyCrl,
} from './certificate-checks.js';
import { ShakenError } from './errors.js';
import { createCaCertificate, createCrl, issueShakenCertificate } from './issuance.js';
import { generateP256KeyPair } from './keys.js';
import { tnAuthListForSpc } from './tn-auth-list.js';

async function codeOf(promise: Promise<unknown> | (() => unknown)): Promise<string> {
  const error = await (typeof promise === 'function' ? Promise.resolve().then(promise) : promise).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ShakenError);
  return (error as ShakenError).code;
}

/** The STI-PA's CRL signer: its own key and DN, outside the STI-CA hierarchy (an indirect CRL). */
async function stiPaCrlSigner(now: Date) {
  const keys = await generateP256KeyPair();
  const certificate = await createCaCertificate({
    keys,
    subjectDn: STI_PA_CRL_ISSUER_DN,
    notBefore: new Date(now.getTime() - DAY_MS),
    notAfter: new Date(now.getTime() + 365 * DAY_MS),
    keyUsage: ['keyCertSign', 'cRLSign'],
  });
  return { certificate, privateKey: keys.privateKey };
}

async function stiPaCrl(pki: TestPki, signer: Awaited<ReturnType<typeof stiPaCrlSigner>>, serials: string[], nextUpdateDays = 1) {
  return createCrl({
    issuer: signer,
    thisUpdate: new Date(pki.now.getTime() - 3_600_000),
    nextUpdate: new Date(pki.now.getTime() + nextUpdateDays * DAY_MS),
    crlNumber: 1,
    entries: serials.map((serialNumber) => ({ serialNumber, revocationDate: pki.now })),
  });
}

let pki: TestPki;
let other: TestPki;
beforeAll(async () => {
  pki = await buildTestPki();
  other = await buildTestPki({ label: 'Test' }); // same DNs, different keys
});

describe('checkIssuedCertificate', () => {
  it('accepts the chain a CA returns: our key, our TNAuthList, valid, trusted, not revoked', async () => {
    const signer = await stiPaCrlSigner(pki.now);
    const crl = await stiPaCrl(pki, signer, ['0badc0de']);
    const result = await checkIssuedCertificate({
      chain: certificateChainToPem([pki.leaf, pki.intermediate]),
      publicKey: pki.leafKeys.publicKey,
      tnAuthList: tnAuthListForSpc('818H'),
      trustAnchors: [pki.root],
      crl: { crl, issuer: signer.certificate },
      now: pki.now,
    });
    expect(result.path.map((certificate) => certificate.subject)).toEqual([pki.leaf.subject, pki.intermediate.subject, pki.root.subject]);
    expect(result.leaf.serialNumber).toBe(pki.leaf.serialNumber);
  });

  it('reports each failure with its own code, in the documented order', async () => {
    const base = {
      chain: [pki.leaf, pki.intermediate],
      publicKey: pki.leafKeys.publicKey,
      tnAuthList: [{ kind: 'spc' as const, spc: '818H' }],
      trustAnchors: [pki.root],
      now: pki.now,
    };
    expect(await codeOf(checkIssuedCertificate({ ...base, publicKey: other.leafKeys.publicKey }))).toBe('CERT.KEY_MISMATCH');
    expect(await codeOf(checkIssuedCertificate({ ...base, tnAuthList: tnAuthListForSpc('709J') }))).toBe('CERT.TN_AUTH_LIST_MISMATCH');
    expect(await codeOf(checkIssuedCertificate({ ...base, now: new Date(pki.now.getTime() - 2 * DAY_MS) }))).toBe('CERT.NOT_YET_VALID');
    expect(await codeOf(checkIssuedCertificate({ ...base, now: new Date(pki.now.getTime() + 90 * DAY_MS) }))).toBe('CERT.EXPIRED');
    expect(await codeOf(checkIssuedCertificate({ ...base, trustAnchors: [other.root] }))).toBe('CERT.UNTRUSTED_CHAIN');
    expect(await codeOf(checkIssuedCertificate({ ...base, chain: '' }))).toBe('CERT.EMPTY_CHAIN');
    expect(await codeOf(checkIssuedCertificate({ ...base, chain: [] }))).toBe('CERT.EMPTY_CHAIN');
  });

  it('reports a revoked leaf on the STI-PA (indirect) CRL as CERT.REVOKED', async () => {
    const signer = await stiPaCrlSigner(pki.now);
    const crl = await stiPaCrl(pki, signer, [pki.leaf.serialNumber]);
    const promise = checkIssuedCertificate({
      chain: [pki.leaf, pki.intermediate],
      publicKey: pki.leafKeys.publicKey,
      tnAuthList: tnAuthListForSpc('818H'),
      trustAnchors: [pki.root],
      crl: { crl, issuer: signer.certificate },
      now: pki.now,
    });
    expect(await codeOf(promise)).toBe('CERT.REVOKED');
  });

  it('reports a CRL signed by someone else, or stale, before using it', async () => {
    const signer = await stiPaCrlSigner(pki.now);
    const impostor = await stiPaCrlSigner(pki.now); // same DN, other key
    const crl = await stiPaCrl(pki, impostor, [pki.leaf.serialNumber]);
    const base = {
      chain: [pki.leaf, pki.intermediate],
      publicKey: pki.leafKeys.publicKey,
      tnAuthList: tnAuthListForSpc('818H'),
      trustAnchors: [pki.root],
      now: pki.now,
    };
    expect(await codeOf(checkIssuedCertificate({ ...base, crl: { crl, issuer: signer.certificate } }))).toBe('CRL.BAD_SIGNATURE');
    const stale = await stiPaCrl(pki, signer, [], -0.01);
    expect(await codeOf(checkIssuedCertificate({ ...base, crl: { crl: stale, issuer: signer.certificate } }))).toBe('CRL.EXPIRED');
  });
});

describe('the single checks', () => {
  it('checkCertificateKey compares the certified key', async () => {
    await expect(checkCertificateKey(pki.leaf, pki.leafKeys.publicKey)).resolves.toBeUndefined();
    expect(await codeOf(checkCertificateKey(pki.leaf, pki.intermediateKeys.publicKey))).toBe('CERT.KEY_MISMATCH');
  });

  it('checkCertificateTnAuthList wants the exact list, and one to be there', async () => {
    expect(() => checkCertificateTnAuthList(pki.leaf, tnAuthListForSpc('818H'))).not.toThrow();
    expect(await codeOf(() => checkCertificateTnAuthList(pki.intermediate, tnAuthListForSpc('818H')))).toBe('CERT.TN_AUTH_LIST_MISMATCH');
    expect(await codeOf(() => checkCertificateTnAuthList(pki.leaf, [{ kind: 'spc', spc: '818H' }, { kind: 'one', tn: '1' }]))).toBe(
      'CERT.TN_AUTH_LIST_MISMATCH',
    );
  });

  it('checkCertificateValidity includes both ends (RFC 5280 §4.1.2.5)', async () => {
    expect(() => checkCertificateValidity(pki.leaf, pki.leaf.notBefore)).not.toThrow();
    expect(() => checkCertificateValidity(pki.leaf, pki.leaf.notAfter)).not.toThrow();
    expect(await codeOf(() => checkCertificateValidity(pki.leaf, new Date(pki.leaf.notBefore.getTime() - 1000)))).toBe('CERT.NOT_YET_VALID');
    expect(await codeOf(() => checkCertificateValidity(pki.leaf, new Date(pki.leaf.notAfter.getTime() + 1000)))).toBe('CERT.EXPIRED');
  });
});

describe('verifyCertificateChain', () => {
  const untrusted = async (leaf: X509Certificate, intermediates: X509Certificate[], anchors: X509Certificate[], at = pki.now) => {
    const error = await verifyCertificateChain(leaf, { trustAnchors: anchors, intermediates, at }).then(
      () => undefined,
      (e: unknown) => e as ShakenError,
    );
    expect(error?.code).toBe('CERT.UNTRUSTED_CHAIN');
    return error?.message ?? '';
  };

  it('builds leaf → intermediate → root, in any order of the intermediates', async () => {
    const path = await verifyCertificateChain(pki.leaf, { trustAnchors: [other.root, pki.root], intermediates: [other.intermediate, pki.intermediate], at: pki.now });
    expect(path).toHaveLength(3);
    expect(path[2]?.rawData).toEqual(pki.root.rawData);
  });

  it('rejects a missing intermediate', async () => {
    expect(await untrusted(pki.leaf, [], [pki.root])).toMatch(/no issuer found/);
  });

  it('rejects an intermediate with the right name and key identifier but another key (signature check of each link)', async () => {
    const keys = await generateP256KeyPair();
    const forged = await X509CertificateGenerator.create({
      subject: pki.intermediate.subjectName,
      issuer: pki.root.subjectName,
      publicKey: keys.publicKey,
      signingKey: pki.rootKeys.privateKey,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      notBefore: pki.intermediate.notBefore,
      notAfter: pki.intermediate.notAfter,
      extensions: [
        new KeyUsagesExtension(KeyUsageFlags.keyCertSign, true),
        new BasicConstraintsExtension(true, undefined, true),
        ...pki.intermediate.extensions.filter((extension) => extension.type === '2.5.29.14'),
      ],
    });
    expect(await untrusted(pki.leaf, [forged], [pki.root])).toMatch(/does not verify with the key of/);
    // Same names, other keys and key identifiers: no candidate issuer at all.
    expect(await untrusted(pki.leaf, [other.intermediate], [pki.root])).toMatch(/no issuer found/);
    expect(await untrusted(pki.leaf, [pki.intermediate], [other.root])).toMatch(/no issuer found/);
  });

  it('rejects an issuer that is not valid at the time', async () => {
    const later = new Date(pki.intermediate.notAfter.getTime() + DAY_MS);
    const leaf = await issueShakenCertificate({
      issuer: { certificate: pki.intermediate, privateKey: pki.intermediateKeys.privateKey },
      subjectPublicKey: pki.leafKeys.publicKey,
      spc: '818H',
      legalName: 'X',
      notBefore: pki.now,
      notAfter: new Date(later.getTime() + DAY_MS),
      crlUrl: 'https://sti-pa.example/crl',
      crlIssuerDn: STI_PA_CRL_ISSUER_DN,
    });
    expect(await untrusted(leaf, [pki.intermediate], [pki.root], later)).toMatch(/is not valid at/);
    expect(await untrusted(pki.leaf, [pki.intermediate], [pki.root], later)).toMatch(/is not valid at/);
  });

  it('rejects an issuer that is not a CA, or may not sign certificates', async () => {
    // A certificate signed with the leaf's key, naming the leaf as issuer.
    const notCa = await issueShakenCertificate({
      issuer: { certificate: pki.leaf, privateKey: pki.leafKeys.privateKey },
      subjectPublicKey: other.leafKeys.publicKey,
      spc: '818H',
      legalName: 'X',
      notBefore: pki.now,
      notAfter: new Date(pki.now.getTime() + DAY_MS),
      crlUrl: 'https://sti-pa.example/crl',
      crlIssuerDn: STI_PA_CRL_ISSUER_DN,
    });
    expect(await untrusted(notCa, [pki.leaf, pki.intermediate], [pki.root])).toMatch(/is not a CA/);

    const keys = await generateP256KeyPair();
    const noCertSign = await X509CertificateGenerator.create({
      subject: 'C=US, O=X, CN=X SHAKEN no certSign',
      issuer: pki.root.subjectName,
      publicKey: keys.publicKey,
      signingKey: pki.rootKeys.privateKey,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      notBefore: pki.root.notBefore,
      notAfter: pki.root.notAfter,
      extensions: [new BasicConstraintsExtension(true, undefined, true), new KeyUsagesExtension(KeyUsageFlags.cRLSign, true)],
    });
    const below = await issueShakenCertificate({
      issuer: { certificate: noCertSign, privateKey: keys.privateKey },
      subjectPublicKey: other.leafKeys.publicKey,
      spc: '818H',
      legalName: 'X',
      notBefore: pki.now,
      notAfter: new Date(pki.now.getTime() + DAY_MS),
      crlUrl: 'https://sti-pa.example/crl',
      crlIssuerDn: STI_PA_CRL_ISSUER_DN,
    });
    expect(await untrusted(below, [noCertSign], [pki.root])).toMatch(/no keyCertSign/);
  });

  it('honours pathLength', async () => {
    const keys = await generateP256KeyPair();
    const constrained = await createCaCertificate({
      keys,
      subjectDn: 'C=US, O=X, CN=X SHAKEN Intermediate 0',
      notBefore: pki.root.notBefore,
      notAfter: pki.root.notAfter,
      issuer: { certificate: pki.root, privateKey: pki.rootKeys.privateKey },
      crl: { url: 'https://sti-pa.example/crl', issuerDn: STI_PA_CRL_ISSUER_DN },
      pathLength: 0,
    });
    const subKeys = await generateP256KeyPair();
    const sub = await createCaCertificate({
      keys: subKeys,
      subjectDn: 'C=US, O=X, CN=X SHAKEN Intermediate 1',
      notBefore: pki.now,
      notAfter: pki.root.notAfter,
      issuer: { certificate: constrained, privateKey: keys.privateKey },
      crl: { url: 'https://sti-pa.example/crl', issuerDn: STI_PA_CRL_ISSUER_DN },
    });
    const leaf = await issueShakenCertificate({
      issuer: { certificate: sub, privateKey: subKeys.privateKey },
      subjectPublicKey: other.leafKeys.publicKey,
      spc: '818H',
      legalName: 'X',
      notBefore: pki.now,
      notAfter: new Date(pki.now.getTime() + DAY_MS),
      crlUrl: 'https://sti-pa.example/crl',
      crlIssuerDn: STI_PA_CRL_ISSUER_DN,
    });
    expect(await untrusted(leaf, [sub, constrained], [pki.root])).toMatch(/allows 0 intermediate/);
  });

  it('accepts a leaf that is itself a trust anchor (a pinned certificate)', async () => {
    expect(await verifyCertificateChain(pki.root, { trustAnchors: [pki.root], at: pki.now })).toHaveLength(1);
  });
});

describe('CRLs', () => {
  it('verifyCrl checks issuer name, signature and currency', async () => {
    const signer = await stiPaCrlSigner(pki.now);
    const crl = await stiPaCrl(pki, signer, []);
    await expect(verifyCrl(crl, signer.certificate, pki.now)).resolves.toBeUndefined();
    expect(await codeOf(verifyCrl(crl, pki.intermediate))).toBe('CRL.BAD_SIGNATURE');
    expect(await codeOf(verifyCrl(crl, signer.certificate, new Date(pki.now.getTime() - DAY_MS)))).toBe('CRL.NOT_YET_VALID');
    expect(await codeOf(verifyCrl(crl, signer.certificate, new Date(pki.now.getTime() + 2 * DAY_MS)))).toBe('CRL.EXPIRED');
  });

  it('checkNotRevoked matches a direct CRL from the issuer, and ignores CRLs that do not cover a certificate', async () => {
    const direct = await buildTestPki({ intermediateKeyUsage: ['keyCertSign', 'cRLSign'] });
    const crl = await createCrl({
      issuer: { certificate: direct.intermediate, privateKey: direct.intermediateKeys.privateKey },
      thisUpdate: direct.now,
      nextUpdate: new Date(direct.now.getTime() + DAY_MS),
      crlNumber: 3,
      entries: [{ serialNumber: direct.leaf.serialNumber, revocationDate: direct.now }],
    });
    expect(await codeOf(() => checkNotRevoked([direct.leaf, direct.intermediate], crl))).toBe('CERT.REVOKED');
    // The intermediate is not in this CRL's scope (its issuer is the root), whatever its serial.
    expect(() => checkNotRevoked([direct.intermediate], crl)).not.toThrow();
  });
});

describe('parsing certificates', () => {
  it('reads PEM and DER, single and chains', () => {
    const pem = certificateChainToPem([pki.leaf, pki.intermediate]);
    expect(parseCertificateChain(pem).map((certificate) => certificate.subject)).toEqual([pki.leaf.subject, pki.intermediate.subject]);
    expect(parseCertificate(new Uint8Array(pki.leaf.rawData)).subject).toBe(pki.leaf.subject);
    expect(parseCertificate(certificateChainToPem([pki.root])).subject).toBe(pki.root.subject);
  });

  it.each([
    ['text that is not PEM', 'nope', 'CERT.MALFORMED'],
    ['two certificates where one is wanted', 'TWO', 'CERT.MALFORMED'],
    ['a key PEM', '-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n', 'CERT.MALFORMED'],
    ['a broken body', '-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n', 'CERT.MALFORMED'],
  ])('parseCertificate rejects %s', async (_what, input, code) => {
    const text = input === 'TWO' ? certificateChainToPem([pki.leaf, pki.root]) : input;
    expect(await codeOf(() => parseCertificate(text))).toBe(code);
  });

  it('parseCrl reads PEM (both labels) and DER, and rejects anything else as CRL.MALFORMED', async () => {
    const direct = await buildTestPki({ intermediateKeyUsage: ['keyCertSign', 'cRLSign'] });
    const crl = await createCrl({
      issuer: { certificate: direct.intermediate, privateKey: direct.intermediateKeys.privateKey },
      thisUpdate: direct.now,
      nextUpdate: new Date(direct.now.getTime() + DAY_MS),
      crlNumber: 1,
    });
    const pem = crlToPem(crl);
    expect(pem.startsWith('-----BEGIN X509 CRL-----\n')).toBe(true);
    expect(parseCrl(pem).issuer).toBe(direct.intermediate.subject);
    expect(parseCrl(pem.replace(/X509 CRL/g, 'CRL')).issuer).toBe(direct.intermediate.subject);
    expect(parseCrl(new Uint8Array(crl.rawData)).issuer).toBe(direct.intermediate.subject);
    for (const bad of ['nope', certificateChainToPem([pki.leaf]), new Uint8Array([0x30, 0x00]), new Uint8Array(pki.leaf.rawData)]) {
      expect(await codeOf(() => parseCrl(bad))).toBe('CRL.MALFORMED');
    }
  });

  it('parseCertificateChain rejects an empty body and foreign blocks', async () => {
    expect(await codeOf(() => parseCertificateChain(''))).toBe('CERT.EMPTY_CHAIN');
    expect(await codeOf(() => parseCertificateChain(`${certificateChainToPem([pki.leaf])}-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n`))).toBe(
      'CERT.MALFORMED',
    );
  });
});
