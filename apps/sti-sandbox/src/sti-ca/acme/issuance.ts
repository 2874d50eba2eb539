import { randomUUID } from 'node:crypto';
import {
  base64UrlDecode,
  base64UrlEncode,
  certificateChainToPem,
  checkShakenCsr,
  generateP256KeyPair,
  isShakenError,
  issueShakenCertificate,
  parseShakenCsr,
  publicKeysEqual,
  serialHex,
  spkiDer,
  type CryptoKey,
  type ParsedShakenCsr,
} from '@app/shaken';
import type { SandboxUrls } from '../../common/sandbox-urls.js';
import type { FaultState } from '../../faults/fault-state.js';
import { STI_PA_CRL_ISSUER_DN, issuingAuthority, type SandboxPki } from '../../pki/sandbox-pki.js';
import type { CertificateRecord, OrderRecord } from '../../state/records.js';
import type { SandboxStore } from '../../state/sandbox-store.js';
import { AcmeProblem } from './acme-problem.js';
import { importJwk, requireObjectPayload, type VerifiedRequest } from './acme-request.js';
import { orderStatus } from './acme-resources.js';
import type { BackgroundWork } from './background-work.js';
import type { AcmeOrders } from './orders.js';

const DAY_MS = 86_400_000;
const ISSUANCE_DELAY_MS = 150;

/**
 * Finalization (RFC 8555 §7.4): the CSR is checked the way an STI-CA checks it (P-256,
 * ecdsa-with-SHA256, valid self-signature, TNAuthList equal to the order, not the account key),
 * then the certificate is issued in the background in the ATIS-1000080 v005 §6.4.1 end-entity
 * profile by the sandbox intermediate, naming the STI-PA CRL as its distribution point.
 */
export class AcmeIssuance {
  constructor(
    private readonly store: SandboxStore,
    private readonly orders: AcmeOrders,
    private readonly pki: SandboxPki,
    private readonly urls: SandboxUrls,
    private readonly faults: FaultState,
    private readonly background: BackgroundWork,
    private readonly validityDays: number,
    private readonly clock: () => Date,
  ) {}

  async finalize(request: VerifiedRequest, orderId: string): Promise<OrderRecord> {
    const order = this.orders.ownedOrder(request, orderId);
    const payload = requireObjectPayload(request, 'finalize');
    if (Object.keys(payload).length !== 1 || typeof payload.csr !== 'string') {
      throw new AcmeProblem('malformed', 'finalize takes exactly {"csr": <base64url DER>}');
    }
    const status = orderStatus(order, this.orders.authorizationsOf(order), this.clock());
    // RFC 8555 §7.4: finalizing an order that is not ready is orderNotReady.
    if (status !== 'ready') throw new AcmeProblem('orderNotReady', `the order is ${status}, not ready`);
    const der = base64UrlDecode(payload.csr);
    if (der === undefined) throw new AcmeProblem('badCSR', 'csr is not base64url (RFC 8555 §7.4)');
    const csr = await this.checkCsr(der, order, request);

    const updated = await this.store.update((state) => {
      const record = state.orders.find((candidate) => candidate.id === order.id);
      if (!record) throw new AcmeProblem('malformed', 'order vanished', { status: 404 });
      record.finalization = 'processing';
      return record;
    });
    this.background.run(ISSUANCE_DELAY_MS, () => this.issue(order.id, csr));
    return updated;
  }

  private async checkCsr(der: Uint8Array, order: OrderRecord, request: VerifiedRequest): Promise<ParsedShakenCsr> {
    let csr: ParsedShakenCsr;
    try {
      csr = await parseShakenCsr(der);
      checkShakenCsr(csr, { tnAuthList: base64UrlDecode(order.tnAuthList) ?? new Uint8Array(), ca: false });
    } catch (error) {
      if (isShakenError(error)) throw new AcmeProblem('badCSR', `${error.code}: ${error.message}`);
      throw error;
    }
    if (csr.subject.organization.length !== 1 || csr.subject.country.length !== 1 || csr.subject.country[0] !== 'US') {
      // ATIS-1000080 v005 §6.4.1 / CP 1.4: exactly one C (US) and one O, the provider's legal name.
      throw new AcmeProblem('badCSR', 'CSR subject needs exactly one C=US and one O (the legal name)');
    }
    // RFC 8555 §11.1: the certificate key must not be the account key.
    if (await publicKeysEqual(csr.publicKey, await importJwk(request.account!.jwk))) {
      throw new AcmeProblem('badCSR', 'the CSR key is the ACME account key; use a separate key for the certificate');
    }
    return csr;
  }

  private async issue(orderId: string, csr: ParsedShakenCsr): Promise<void> {
    const order = this.store.state.orders.find((candidate) => candidate.id === orderId);
    if (!order || order.finalization !== 'processing' || order.spc === undefined) return;
    try {
      const record = await this.sign(order, csr);
      await this.store.update((state) => {
        state.certificates.push(record);
        const stored = state.orders.find((candidate) => candidate.id === orderId);
        if (stored) {
          stored.finalization = 'valid';
          stored.certificateId = record.id;
        }
      });
    } catch (error) {
      await this.store.update((state) => {
        const stored = state.orders.find((candidate) => candidate.id === orderId);
        if (stored) {
          stored.finalization = 'invalid';
          stored.error = { type: 'urn:ietf:params:acme:error:serverInternal', detail: 'the certificate could not be issued', status: 500 };
        }
      });
      // Logged by BackgroundWork; the client sees only the order's serverInternal error.
      throw error;
    }
  }

  private async sign(order: OrderRecord, csr: ParsedShakenCsr): Promise<CertificateRecord> {
    const now = this.clock();
    const faults = this.faults.settings;
    const notBefore = order.notBefore ? new Date(order.notBefore) : new Date(now.getTime() - 60_000);
    const notAfter = order.notAfter ? new Date(order.notAfter) : new Date(notBefore.getTime() + this.validityDays * DAY_MS);
    // Fault switches: certify a key nobody asked for, or an SPC the order did not name.
    const subjectPublicKey: CryptoKey = faults.wrongKeyCertificate ? (await generateP256KeyPair()).publicKey : csr.publicKey;
    const spc = faults.otherSpcCertificate ?? (order.spc as string);
    const leaf = await issueShakenCertificate({
      issuer: issuingAuthority(this.pki.stiCaIntermediate),
      subjectPublicKey,
      spc,
      legalName: csr.subject.organization[0] as string,
      notBefore,
      notAfter,
      crlUrl: this.urls.stiPaCrl,
      crlIssuerDn: STI_PA_CRL_ISSUER_DN,
    });
    return {
      id: randomUUID(),
      serial: serialHex(leaf),
      accountId: order.accountId,
      orderId: order.id,
      chainPem: certificateChainToPem([leaf, this.pki.stiCaIntermediate.certificate]),
      publicKeySpki: base64UrlEncode(await spkiDer(subjectPublicKey)),
      notBefore: leaf.notBefore.toISOString(),
      notAfter: leaf.notAfter.toISOString(),
      issuedAt: now.toISOString(),
    };
  }
}
