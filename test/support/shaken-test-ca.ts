import 'reflect-metadata';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  certificateChainToPem,
  createCaCertificate,
  type CryptoKeyPair,
  exportPrivateKeyPem,
  generateP256KeyPair,
  importPrivateKeyPem,
  issueShakenCertificate,
  parseCertificate,
  type PublicKeyInput,
  type ShakenCertificateParams,
  type X509Certificate,
} from '@app/shaken';
import type { SandboxProcess } from './sandbox.js';

const DAY_MS = 86_400_000;

export type CertificateOverrides = Partial<Pick<ShakenCertificateParams, 'notBefore' | 'notAfter' | 'subjectSerialNumber' | 'legalName'>> & { days?: number };
const CRL = { url: 'https://authenticate-api.iconectiv.com/download/v1/crl', issuerDn: 'L=Bridgewater, ST=NJ, CN=STI-PA CRL, C=US, O=STI-PA' };

/** A provider certificate as a CA hands it out: the chain (leaf first) and, separately, its key. */
export interface IssuedTestCertificate {
  readonly leaf: X509Certificate;
  /** Leaf then intermediate, PEM. */
  readonly chainPem: string;
  readonly keys: CryptoKeyPair;
  /** PKCS#8 PEM of the leaf's key (what a provider would import). */
  readonly privateKeyPem: string;
}

/**
 * A small STI-CA for tests, made with the @app/shaken issuance helpers (ATIS-1000080 v005 §6.4.1
 * profile): a SHAKEN root and an intermediate that issues provider certificates for any SPC.
 */
export class TestStiCa {
  private constructor(
    readonly root: X509Certificate,
    readonly intermediate: X509Certificate,
    private readonly intermediateKeys: CryptoKeyPair,
  ) {}

  static async create(label = 'Publishing Test'): Promise<TestStiCa> {
    const now = Date.now();
    const [rootKeys, intermediateKeys] = await Promise.all([generateP256KeyPair(), generateP256KeyPair()]);
    const root = await createCaCertificate({
      keys: rootKeys,
      subjectDn: `C=US, O=${label} STI-CA, CN=${label} SHAKEN ROOT`,
      notBefore: new Date(now - 365 * DAY_MS),
      notAfter: new Date(now + 3650 * DAY_MS),
    });
    const intermediate = await createCaCertificate({
      keys: intermediateKeys,
      subjectDn: `C=US, O=${label} STI-CA, CN=${label} SHAKEN Intermediate`,
      notBefore: new Date(now - 30 * DAY_MS),
      notAfter: new Date(now + 1825 * DAY_MS),
      issuer: { certificate: root, privateKey: rootKeys.privateKey },
      crl: CRL,
    });
    return new TestStiCa(root, intermediate, intermediateKeys);
  }

  /**
   * The sandbox's own STI-CA, issuing outside ACME with the intermediate key in its data
   * directory: certificates a provider obtained elsewhere from a CA whose root is on the sandbox
   * STI-PA's CA list (what import accepts), with any profile a test needs.
   */
  static async fromSandbox(sandbox: SandboxProcess): Promise<TestStiCa> {
    const intermediatePath = sandbox.paths.stiCaIntermediate;
    const [intermediatePem, keyPem] = await Promise.all([
      readFile(intermediatePath, 'utf8'),
      readFile(join(dirname(intermediatePath), 'private', 'sti-ca-intermediate.key'), 'utf8'),
    ]);
    return new TestStiCa(parseCertificate(sandbox.stiCaRootPem), parseCertificate(intermediatePem), await importPrivateKeyPem(keyPem, false));
  }

  get rootPem(): string {
    return this.root.toString('pem');
  }

  /** A provider certificate for `spc`, valid from a day ago for `days` days, on a new P-256 key. */
  async issue(spc: string, overrides: CertificateOverrides = {}): Promise<IssuedTestCertificate> {
    const keys = await generateP256KeyPair(true);
    const { leaf, chainPem } = await this.issueFor(spc, keys.publicKey, overrides);
    return { leaf, chainPem, keys, privateKeyPem: await exportPrivateKeyPem(keys.privateKey, 'pkcs8') };
  }

  /** A provider certificate for a public key held elsewhere (a CSR's key). */
  async issueFor(spc: string, publicKey: PublicKeyInput, overrides: CertificateOverrides = {}): Promise<{ leaf: X509Certificate; chainPem: string }> {
    const now = Date.now();
    const leaf = await issueShakenCertificate({
      issuer: { certificate: this.intermediate, privateKey: this.intermediateKeys.privateKey },
      subjectPublicKey: publicKey,
      spc,
      legalName: overrides.legalName ?? 'Example Telecom LLC',
      notBefore: overrides.notBefore ?? new Date(now - DAY_MS),
      notAfter: overrides.notAfter ?? new Date(now + (overrides.days ?? 90) * DAY_MS),
      crlUrl: CRL.url,
      crlIssuerDn: CRL.issuerDn,
      ...(overrides.subjectSerialNumber !== undefined ? { subjectSerialNumber: overrides.subjectSerialNumber } : {}),
    });
    return { leaf, chainPem: certificateChainToPem([leaf, this.intermediate]) };
  }
}
