import { AcmeClient } from '@app/acme';
import {
  buildShakenCsr,
  certificateChainToPem,
  type CryptoKeyPair,
  exportPrivateKeyPem,
  generateP256KeyPair,
  parseCertificateChain,
  tnAuthListForSpc,
  type X509Certificate,
} from '@app/shaken';
import type { SandboxStiPaUser } from './factories.js';
import { sandboxClients, type SandboxProcess } from './sandbox.js';

/** A provider certificate the sandbox STI-CA issued, as a provider would hold it before importing it. */
export interface SandboxIssuedCertificate {
  readonly leaf: X509Certificate;
  /** Leaf first, then its issuers, as the service re-encodes and publishes it. */
  readonly chainPem: string;
  readonly keys: CryptoKeyPair;
  /** PKCS#8 PEM of the leaf's key. */
  readonly privateKeyPem: string;
}

/**
 * Obtains a certificate for `spc` from the sandbox the way a provider does (STI-PA SPC token for
 * `user`, ACME tkauth-01 order at the sandbox STI-CA), on `keys` or a new key. Its chain reaches
 * the sandbox STI-CA root, which is on the sandbox STI-PA's CA list.
 */
export async function issueAtSandbox(
  sandbox: SandboxProcess,
  user: SandboxStiPaUser,
  spc: string,
  keys?: CryptoKeyPair,
): Promise<SandboxIssuedCertificate> {
  const clients = await sandboxClients(sandbox, { stiPa: { credentials: { userId: user.userId, password: user.password } } });
  try {
    const { acme, stiPa } = clients;
    await acme.createAccount({ termsOfServiceAgreed: true });
    const order = await acme.createOrder({ identifiers: [{ type: 'TNAuthList', der: tnAuthListForSpc(spc) }] });
    const fingerprint = await acme.accountKeyFingerprint();
    const authorized = await acme.authorizeTkauthOrder({ order, getToken: async () => (await stiPa.requestSpcToken({ ocn: spc, fingerprint })).token });
    const certificateKeys = keys ?? (await generateP256KeyPair(true));
    const csr = await buildShakenCsr({ keys: certificateKeys, legalName: 'Example Telecom LLC', spc });
    const chain = parseCertificateChain((await acme.downloadCertificate(await acme.finalizeOrder(authorized, csr.der))).pem);
    return {
      leaf: chain[0]!,
      chainPem: certificateChainToPem(chain),
      keys: certificateKeys,
      privateKeyPem: await exportPrivateKeyPem(certificateKeys.privateKey, 'pkcs8'),
    };
  } finally {
    await clients.close();
  }
}

/** Revokes the certificate at the sandbox STI-CA by its own key (RFC 8555 §7.6): it goes onto the sandbox STI-PA CRL. */
export async function revokeAtSandbox(sandbox: SandboxProcess, issued: SandboxIssuedCertificate): Promise<void> {
  const acme = new AcmeClient({ directoryUrl: sandbox.acmeDirectory, accountKey: issued.keys, transport: { trustedCaPem: sandbox.tlsRootPem } });
  try {
    await acme.revokeCertificate(new Uint8Array(issued.leaf.rawData), { reason: 1, certificateKey: issued.keys });
  } finally {
    await acme.close();
  }
}
