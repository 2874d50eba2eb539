import 'reflect-metadata';
import { AsnConvert } from '@peculiar/asn1-schema';
import { TNAuthorizationList, TNEntry } from '@peculiar/asn1-rfc8226';
import { DistributionPoint, DistributionPointName, GeneralName, Name as AsnName } from '@peculiar/asn1-x509';
import type { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { isShakenError } from '../errors.js';
import { lintCertificate } from './lint-certificate.js';

const CRL_URL = 'https://authenticate-api.iconectiv.com/download/v1/crl';
const CRL_ISSUER = 'L=Bridgewater, ST=NJ, CN=STI-PA CRL, C=US, O=STI-PA';
const CP_1_3 = '2.16.840.1.114569.1.1.3';
const CP_1_4 = '2.16.840.1.114569.1.1.4';
const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

type NameSpec = Array<Record<string, string[]>>;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type EcdsaParams = webcrypto.EcdsaParams;

interface CertSpec {
  subject: NameSpec;
  issuer?: NameSpec;
  keys: CryptoKeyPair;
  signer: CryptoKeyPair;
  /** Issuer certificate whose SKI goes into the AKI; undefined for a self-signed certificate. */
  issuerKeyId?: string;
  serialNumber?: string;
  notBefore?: Date;
  extensions: x509.Extension[];
  signingAlgorithm?: EcdsaParams;
}

async function generateKeys(namedCurve = 'P-256'): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey({ ...ECDSA_P256, namedCurve }, true, ['sign', 'verify']);
}

async function issue(spec: CertSpec): Promise<x509.X509Certificate> {
  const notBefore = spec.notBefore ?? new Date('2025-03-01T00:00:00Z');
  return x509.X509CertificateGenerator.create({
    serialNumber: spec.serialNumber ?? '5f1e2d3c4b5a69788796a5b4c3d2e1f0',
    subject: spec.subject,
    issuer: spec.issuer ?? spec.subject,
    notBefore,
    notAfter: new Date(notBefore.getTime() + 90 * 86_400_000),
    publicKey: spec.keys.publicKey,
    signingKey: spec.signer.privateKey,
    signingAlgorithm: spec.signingAlgorithm ?? SHA256,
    extensions: spec.extensions,
  });
}

function tnAuthList(entries: TNEntry[], critical = false): x509.Extension {
  return new x509.Extension('1.3.6.1.5.5.7.1.26', critical, AsnConvert.serialize(new TNAuthorizationList(entries)));
}

function crlDistribution(withIssuer: boolean): x509.Extension {
  const point = new DistributionPoint({
    distributionPoint: new DistributionPointName({ fullName: [new GeneralName({ uniformResourceIdentifier: CRL_URL })] }),
  });
  if (withIssuer) {
    const issuerName = AsnConvert.parse(new x509.Name(CRL_ISSUER).toArrayBuffer(), AsnName);
    point.cRLIssuer = [new GeneralName({ directoryName: issuerName })];
  }
  return new x509.CRLDistributionPointsExtension([point]);
}

function rawExtension(oid: string, critical: boolean, hex: string): x509.Extension {
  return new x509.Extension(oid, critical, Buffer.from(hex, 'hex'));
}

const KU = x509.KeyUsageFlags;

interface Chain {
  rootKeys: CryptoKeyPair;
  intermediateKeys: CryptoKeyPair;
  leafKeys: CryptoKeyPair;
  root: x509.X509Certificate;
  intermediate: x509.X509Certificate;
  rootSki: string;
  intermediateSki: string;
}

let chain: Chain;

const ROOT_NAME: NameSpec = [{ C: ['US'] }, { O: ['Example STI-CA'] }, { CN: ['Example SHAKEN Root'] }];
const INTERMEDIATE_NAME: NameSpec = [{ C: ['US'] }, { O: ['Example STI-CA'] }, { CN: ['Example SHAKEN Intermediate'] }];

async function skiOf(keys: CryptoKeyPair): Promise<string> {
  const ext = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey);
  return ext.keyId;
}

/** The options of a leaf that follows ATIS-1000080 v005 §6.4.1 and CP 1.3 to the letter. */
interface LeafOptions {
  cn?: string;
  spc?: string;
  country?: string[];
  organizations?: string[];
  serialNumberAttribute?: string | string[] | null;
  policies?: string[];
  policiesCritical?: boolean;
  keyUsage?: x509.Extension | null;
  basicConstraints?: x509.Extension | null;
  tnAuthList?: x509.Extension | null;
  crl?: x509.Extension | null;
  ski?: x509.Extension | null;
  aki?: boolean;
  extra?: x509.Extension[];
  serialNumber?: string;
  notBefore?: Date;
  keys?: CryptoKeyPair;
  signingAlgorithm?: EcdsaParams;
}

async function leaf(o: LeafOptions = {}): Promise<x509.X509Certificate> {
  const keys = o.keys ?? chain.leafKeys;
  const spc = o.spc ?? '709J';
  const subject: NameSpec = [{ CN: [o.cn ?? `SHAKEN ${spc}`] }];
  if (o.serialNumberAttribute !== null) {
    const value = o.serialNumberAttribute ?? '27E681E41B39FDDADA26A9950A0CA570';
    subject.push({ '2.5.4.5': Array.isArray(value) ? value : [value] });
  }
  for (const c of o.country ?? ['US']) subject.push({ C: [c] });
  for (const org of o.organizations ?? ['Low Latency Communications LLC']) subject.push({ O: [org] });
  const extensions: x509.Extension[] = [];
  const add = (ext: x509.Extension | null | undefined, fallback: x509.Extension) => {
    if (ext !== null) extensions.push(ext ?? fallback);
  };
  add(o.keyUsage, new x509.KeyUsagesExtension(KU.digitalSignature, true));
  add(o.basicConstraints, new x509.BasicConstraintsExtension(false, undefined, true));
  add(o.ski, await x509.SubjectKeyIdentifierExtension.create(keys.publicKey));
  if (o.aki !== false) extensions.push(new x509.AuthorityKeyIdentifierExtension(chain.intermediateSki));
  add(o.tnAuthList, tnAuthList([new TNEntry({ spc })]));
  add(o.crl, crlDistribution(true));
  extensions.push(new x509.CertificatePolicyExtension(o.policies ?? [CP_1_3], o.policiesCritical ?? false));
  extensions.push(...(o.extra ?? []));
  return issue({
    subject,
    issuer: INTERMEDIATE_NAME,
    keys,
    signer: chain.intermediateKeys,
    serialNumber: o.serialNumber,
    notBefore: o.notBefore,
    extensions,
    signingAlgorithm: o.signingAlgorithm,
  });
}

interface CaOptions {
  cn?: string;
  keyUsage?: number;
  policies?: string[] | null;
  crl?: x509.Extension | null;
  tnAuthList?: boolean;
}

async function intermediate(o: CaOptions = {}): Promise<x509.X509Certificate> {
  const extensions: x509.Extension[] = [
    new x509.KeyUsagesExtension(o.keyUsage ?? KU.keyCertSign, true),
    new x509.BasicConstraintsExtension(true, 0, true),
    await x509.SubjectKeyIdentifierExtension.create(chain.intermediateKeys.publicKey),
    new x509.AuthorityKeyIdentifierExtension(chain.rootSki),
  ];
  if (o.crl !== null) extensions.push(o.crl ?? crlDistribution(true));
  if (o.policies !== null) extensions.push(new x509.CertificatePolicyExtension(o.policies ?? [CP_1_4]));
  if (o.tnAuthList) extensions.push(tnAuthList([new TNEntry({ spc: '709J' })]));
  const subject: NameSpec = [{ C: ['US'] }, { O: ['Example STI-CA'] }, { CN: [o.cn ?? 'Example SHAKEN Intermediate'] }];
  return issue({ subject, issuer: ROOT_NAME, keys: chain.intermediateKeys, signer: chain.rootKeys, extensions });
}

interface RootOptions {
  cn?: string;
  issuer?: NameSpec;
  extra?: x509.Extension[];
  authorityKeyId?: string;
}

async function root(o: RootOptions = {}): Promise<x509.X509Certificate> {
  const subject: NameSpec = [{ C: ['US'] }, { O: ['Example STI-CA'] }, { CN: [o.cn ?? 'Example SHAKEN Root'] }];
  const extensions: x509.Extension[] = [
    new x509.KeyUsagesExtension(KU.keyCertSign, true),
    new x509.BasicConstraintsExtension(true, undefined, true),
    await x509.SubjectKeyIdentifierExtension.create(chain.rootKeys.publicKey),
    ...(o.authorityKeyId ? [new x509.AuthorityKeyIdentifierExtension(o.authorityKeyId)] : []),
    ...(o.extra ?? []),
  ];
  return issue({ subject, issuer: o.issuer, keys: chain.rootKeys, signer: chain.rootKeys, extensions });
}

function codes(cert: x509.X509Certificate, now?: Date): string[] {
  return lintCertificate(cert, now ? { now } : {}).map((f) => f.code);
}

beforeAll(async () => {
  const [rootKeys, intermediateKeys, leafKeys] = await Promise.all([generateKeys(), generateKeys(), generateKeys()]);
  const partial = { rootKeys, intermediateKeys, leafKeys, rootSki: await skiOf(rootKeys), intermediateSki: await skiOf(intermediateKeys) };
  chain = { ...partial, root: undefined as never, intermediate: undefined as never };
  chain.root = await root();
  chain.intermediate = await intermediate();
});

describe('lintCertificate: certificates that follow the profile', () => {
  it('finds nothing in a profile-conformant end-entity, intermediate and root', async () => {
    expect(lintCertificate(await leaf())).toEqual([]);
    expect(lintCertificate(chain.intermediate)).toEqual([]);
    expect(lintCertificate(chain.root)).toEqual([]);
  });

  it('accepts DER bytes and PEM text of the same certificate alike', async () => {
    const cert = await leaf({ extra: [rawExtension('2.5.29.17', false, '300d820b6578616d706c652e636f6d')] });
    const fromDer = lintCertificate(new Uint8Array(cert.rawData));
    expect(fromDer.map((f) => f.code)).toEqual(['e_atis_ext_not_specified']);
    expect(lintCertificate(cert.toString('pem'))).toEqual(fromDer);
  });

  it('gives each finding a severity, a message and a citation', async () => {
    const [finding] = lintCertificate(await leaf({ ski: null })).filter((f) => f.code === 'w_ext_subject_key_identifier_missing_sub_cert');
    expect(finding).toEqual({
      code: 'w_ext_subject_key_identifier_missing_sub_cert',
      severity: 'warning',
      message: expect.stringContaining('Subject Key Identifier'),
      citation: 'RFC 5280 §4.2.1.2',
    });
  });
});

describe('lintCertificate: an end-entity certificate that breaks one rule', () => {
  const cases: Array<[string, () => Promise<x509.X509Certificate>, string[]]> = [
    ['an extra (Subject Alternative Name) extension', () => leaf({ extra: [rawExtension('2.5.29.17', false, '300d820b6578616d706c652e636f6d')] }), ['e_atis_ext_not_specified']],
    ['Key Usage with keyEncipherment too', () => leaf({ keyUsage: new x509.KeyUsagesExtension(KU.digitalSignature | KU.keyEncipherment, true) }), ['e_atis_ext_key_usage_ee']],
    ['Key Usage not critical', () => leaf({ keyUsage: new x509.KeyUsagesExtension(KU.digitalSignature, false) }), ['e_atis_ext_key_usage']],
    ['no Key Usage', () => leaf({ keyUsage: null }), ['e_atis_ext_key_usage']],
    // 03 02 00 80: digitalSignature with 0 unused bits declared where DER needs 7.
    ['a Key Usage bit string with the wrong unused-bit count', () => leaf({ keyUsage: rawExtension('2.5.29.15', true, '03020080') }), ['e_incorrect_ku_encoding']],
    ['Basic Constraints not critical', () => leaf({ basicConstraints: new x509.BasicConstraintsExtension(false, undefined, false) }), ['e_atis_ext_basic_constraints']],
    ['no Basic Constraints', () => leaf({ basicConstraints: null }), ['e_atis_ext_basic_constraints']],
    ['a lowercase SPC', () => leaf({ spc: '709j' }), ['e_atis_tn_auth_list_spc_format']],
    ['a CN naming another SPC', () => leaf({ cn: 'SHAKEN 123A' }), ['e_atis_subject_cn_spc']],
    ['a CN with the company name between SHAKEN and the SPC', () => leaf({ cn: 'SHAKEN Low Latency 709J' }), ['e_atis_subject_cn_spc']],
    ['a CN without SHAKEN', () => leaf({ cn: 'Low Latency 709J' }), ['e_atis_subject_cn', 'e_atis_subject_cn_spc']],
    ['a CN with "Shaken" in the wrong case', () => leaf({ cn: 'Shaken 709J' }), ['e_atis_subject_cn', 'e_atis_subject_cn_spc']],
    ['a 56-bit serial number', () => leaf({ serialNumber: '7f1e2d3c4b5a69' }), ['e_atis_serial_number_size']],
    ['a TNAuthList with an SPC and a telephone number', () => leaf({ tnAuthList: tnAuthList([new TNEntry({ spc: '709J' }), new TNEntry({ one: '12025550100' })]) }), ['e_atis_subject_cn_spc', 'e_atis_tn_auth_list', 'e_atis_tn_auth_list_spc_format']],
    ['a TNAuthList holding only a telephone number', () => leaf({ tnAuthList: tnAuthList([new TNEntry({ one: '12025550100' })]) }), ['e_atis_subject_cn_spc', 'e_atis_tn_auth_list', 'e_atis_tn_auth_list_spc_format']],
    ['a critical TNAuthList', () => leaf({ tnAuthList: tnAuthList([new TNEntry({ spc: '709J' })], true) }), ['e_atis_tn_auth_list']],
    ['a TNAuthList with an untagged SPC', () => leaf({ tnAuthList: rawExtension('1.3.6.1.5.5.7.1.26', false, '3006160437303948') }), ['e_atis_subject_cn_spc', 'e_atis_tn_auth_list', 'e_atis_tn_auth_list_spc_format']],
    ['no TNAuthList', () => leaf({ tnAuthList: null }), ['e_atis_subject_cn_spc', 'e_atis_tn_auth_list', 'e_atis_tn_auth_list_spc_format']],
    ['no subject serialNumber under CP 1.3', () => leaf({ serialNumberAttribute: null }), ['e_us_cp_subject_sn_shall']],
    ['two subject serialNumbers under CP 1.4', () => leaf({ policies: [CP_1_4], serialNumberAttribute: ['27E681E4', '27E681E5'] }), ['e_us_cp_subject_sn_may']],
    ['an empty subject serialNumber under CP 1.4', () => leaf({ policies: [CP_1_4], serialNumberAttribute: ' ' }), ['e_us_cp_subject_sn_may']],
    ['C=CA under CP 1.4', () => leaf({ policies: [CP_1_4], country: ['CA'] }), ['e_atis_subject_c_us']],
    ['a three-letter country code', () => leaf({ country: ['USA'] }), ['e_atis_subject_c_iso']],
    ['no country', () => leaf({ country: [] }), ['e_atis_subject_c_iso', 'e_atis_subject_dn']],
    ['two organizations', () => leaf({ organizations: ['A', 'B'] }), ['e_atis_subject_o_required']],
    ['critical Certificate Policies', () => leaf({ policiesCritical: true }), ['e_atis_ext_certificate_policies']],
    ['the CP 1.1 policy OID', () => leaf({ policies: ['2.16.840.1.114569.1.1.1'] }), ['e_shaken_certificate_policies_id']],
    ['two policy OIDs', () => leaf({ policies: [CP_1_3, CP_1_4] }), ['e_atis_ext_certificate_policies', 'e_shaken_certificate_policies_id']],
    ['a CRL distribution point without cRLIssuer under CP 1.4', () => leaf({ policies: [CP_1_4], crl: crlDistribution(false) }), ['e_atis_ext_crl_distribution_struct']],
    ['no CRL Distribution Points', () => leaf({ crl: null }), ['e_atis_ext_crl_distribution']],
    ['a CRL distribution point that is not an HTTP URL', () => leaf({ crl: new x509.CRLDistributionPointsExtension(['ldap://crl.example/cn=sti']) }), ['e_atis_ext_crl_distribution']],
    ['no Subject Key Identifier', () => leaf({ ski: null }), ['e_atis_subject_key_identifier', 'e_atis_subject_key_identifier_size', 'w_ext_subject_key_identifier_missing_sub_cert']],
    ['an 8-byte Subject Key Identifier', () => leaf({ ski: new x509.SubjectKeyIdentifierExtension('0102030405060708') }), ['e_atis_subject_key_identifier_size']],
    ['no Authority Key Identifier', () => leaf({ aki: false }), ['e_atis_ext_authority_key_identifier', 'e_ext_authority_key_identifier_missing', 'e_ext_authority_key_identifier_no_key_identifier']],
    ['a P-384 key', async () => leaf({ keys: await generateKeys('P-384') }), ['e_atis_subject_public_key']],
    ['an ecdsa-with-SHA384 signature under CP 1.3', () => leaf({ signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' } }), ['e_atis_signature_algorithm']],
  ];

  it.each(cases)('%s', async (_name, build, expected) => {
    expect(codes(await build())).toEqual(expected);
  });

  it('accepts ecdsa-with-SHA384 under CP 1.4 (CP 1.4 §6.1.5)', async () => {
    expect(codes(await leaf({ policies: [CP_1_4], signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' } }))).toEqual([]);
  });

  it('does not hold CP 1.3 certificates to the cRLIssuer requirement, as the reference results do', async () => {
    expect(codes(await leaf({ policies: [CP_1_3], crl: crlDistribution(false) }))).toEqual([]);
  });
});

describe('lintCertificate: effective dates', () => {
  const extra = [rawExtension('2.5.29.17', false, '300d820b6578616d706c652e636f6d')];

  it('applies v005 end-entity lints from 90 days after v005 (2023-03-12)', async () => {
    expect(codes(await leaf({ extra, notBefore: new Date('2023-03-11T23:59:59Z') }))).toEqual([]);
    expect(codes(await leaf({ extra, notBefore: new Date('2023-03-12T00:00:00Z') }))).toEqual(['e_atis_ext_not_specified']);
  });

  it('applies CP 1.3 end-entity lints from 145 days after CP 1.3 (2022-01-10)', async () => {
    expect(codes(await leaf({ serialNumberAttribute: null, notBefore: new Date('2022-01-09T12:00:00Z') }))).toEqual([]);
    expect(codes(await leaf({ serialNumberAttribute: null, notBefore: new Date('2022-01-10T00:00:00Z') }))).toEqual(['e_us_cp_subject_sn_shall']);
  });

  it('applies CP lints only to certificates that assert that CP', async () => {
    // No serialNumber: CP 1.3 requires one, CP 1.4 does not.
    expect(codes(await leaf({ serialNumberAttribute: null, policies: [CP_1_3] }))).toEqual(['e_us_cp_subject_sn_shall']);
    expect(codes(await leaf({ serialNumberAttribute: null, policies: [CP_1_4] }))).toEqual([]);
    // C=CA: only CP 1.4 demands US.
    expect(codes(await leaf({ country: ['CA'], policies: [CP_1_3] }))).toEqual([]);
  });

  it('applies no rule that took effect after `now`', async () => {
    const cert = await leaf({ extra });
    expect(codes(cert, new Date('2022-12-31T00:00:00Z'))).toEqual([]);
    expect(codes(cert, new Date('2026-01-01T00:00:00Z'))).toEqual(['e_atis_ext_not_specified']);
  });
});

describe('lintCertificate: CA certificates use the _ca, _root variants', () => {
  it('flags an intermediate carrying a TNAuthList', async () => {
    expect(codes(await intermediate({ tnAuthList: true }))).toEqual(['e_atis_tn_auth_list_ca']);
  });

  it('flags an intermediate whose Key Usage lacks keyCertSign', async () => {
    expect(codes(await intermediate({ keyUsage: KU.digitalSignature }))).toEqual(['e_atis_ext_key_usage_ca']);
  });

  it('allows cRLSign beside keyCertSign before CP 1.4, and only keyCertSign under CP 1.4', async () => {
    expect(codes(await intermediate({ keyUsage: KU.keyCertSign | KU.cRLSign, policies: [CP_1_3] }))).toEqual([]);
    expect(codes(await intermediate({ keyUsage: KU.keyCertSign | KU.cRLSign, policies: [CP_1_4] }))).toEqual(['e_atis_ext_key_usage_ca']);
  });

  it('flags an intermediate without SHAKEN in its CN, without policies, without CRL DP', async () => {
    expect(codes(await intermediate({ cn: 'Example Intermediate CA' }))).toEqual(['e_atis_subject_cn_ca']);
    expect(codes(await intermediate({ policies: null }))).toEqual(['e_atis_ext_certificate_policies_ca', 'e_shaken_certificate_policies_id_ca']);
    expect(codes(await intermediate({ crl: null }))).toEqual(['e_atis_ext_crl_distribution_ca']);
  });

  it('flags a root with a CRL distribution point or a policy', async () => {
    expect(codes(await root({ extra: [crlDistribution(true)] }))).toEqual(['e_atis_ext_crl_distribution_root']);
    expect(codes(await root({ extra: [new x509.CertificatePolicyExtension([CP_1_4])] }))).toEqual(['e_atis_ext_certificate_policies_root']);
  });

  it('flags a root whose CN lacks the word ROOT', async () => {
    expect(codes(await root({ cn: 'Example SHAKEN Authority' }))).toEqual(['e_atis_subject_cn_root']);
    expect(codes(await root({ cn: 'Example SHAKEN Root1' }))).toEqual(['e_atis_subject_cn_root']);
  });

  it('flags a root whose AKI does not match its SKI', async () => {
    expect(codes(await root({ authorityKeyId: chain.rootSki }))).toEqual([]);
    expect(codes(await root({ authorityKeyId: '0102030405060708090a0b0c0d0e0f1011121314' }))).toEqual(['e_atis_ext_authority_key_identifier_root']);
  });

  it('flags a self-signed root whose issuer differs from its subject', async () => {
    expect(codes(await root({ issuer: [{ C: ['US'] }, { O: ['Someone Else'] }, { CN: ['Other SHAKEN Root'] }] }))).toEqual(['e_issuer_root']);
  });
});

describe('lintCertificate: input errors', () => {
  it('throws CERT.UNPARSEABLE for bytes that are not a certificate', () => {
    const attempt = () => lintCertificate(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]));
    expect(attempt).toThrow();
    try {
      attempt();
    } catch (err) {
      expect(isShakenError(err, 'CERT.UNPARSEABLE')).toBe(true);
    }
  });

  it('throws CERT.UNPARSEABLE for PEM text without a certificate', () => {
    expect(() => lintCertificate('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n')).toThrow(
      expect.objectContaining({ code: 'CERT.UNPARSEABLE' }),
    );
  });

  it('refuses a PEM bundle with more than one certificate', async () => {
    const bundle = `${(await leaf()).toString('pem')}\n${chain.intermediate.toString('pem')}`;
    expect(() => lintCertificate(bundle)).toThrow(expect.objectContaining({ code: 'CERT.NOT_SINGLE' }));
  });
});
