import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Tx } from '@app/db';
import type { Keystore } from '@app/keystore';
import { certificateChainToPem, parseCertificateChain, serialHex } from '@app/shaken';
import { KEYSTORE } from '../../config/config.module.js';
import type { OrderContext } from '../order-context.js';
import { ProcurementError } from '../procurement-errors.js';
import { StiClients } from '../sti-clients.js';
import { LifecycleEvents } from '../../webhooks/lifecycle-events.service.js';
import { withAcmeAccount } from './acme-session.js';
import type { OrderStep, StepOutcome } from './order-step.js';

/**
 * finalized → downloaded: the chain (RFC 8555 §7.4.2, application/pem-certificate-chain, leaf
 * first) stored with the leaf's identity. A plain POST-as-GET: repeating it is harmless.
 * `certificate.issued` (issue 5) goes to the audit log and webhooks in the transition's
 * transaction, so it is sent exactly once per issued certificate even when the step repeats
 * after a crash (the compare-and-set on the order's state lets only one commit). Issued is not
 * usable yet: the certificate is checked and published before `certificate.activated`.
 */
@Injectable()
export class DownloadChainStep implements OrderStep {
  readonly name = 'downloadChain' as const;

  constructor(
    private readonly clients: StiClients,
    private readonly events: LifecycleEvents,
    @Inject(KEYSTORE) private readonly keystore: Keystore,
  ) {}

  run(context: OrderContext): Promise<StepOutcome> {
    const url = context.order.certificateUrl;
    if (!url) throw new ProcurementError('CERTIFICATE_ORDER.INCONSISTENT', `order ${context.order.id} is finalized without a certificate URL`, true);
    return withAcmeAccount(context, this.clients, this.keystore, async (client) => {
      const download = await client.downloadCertificate(url);
      const chain = parseCertificateChain(download.pem);
      const leaf = chain[0]!;
      const fingerprintSha256 = createHash('sha256').update(new Uint8Array(leaf.rawData)).digest('hex');
      const { certificate, ocn, stiCa, order } = context;
      return {
        alsoInTransaction: async (tx: Tx) => {
          await this.events.emit(tx, {
            type: 'certificate.issued',
            subject: { type: 'certificate', id: certificate.id },
            actor: { type: 'system', component: 'procurement' },
            data: {
              ocn: ocn.code,
              stiCaId: stiCa.id,
              orderKind: order.kind,
              serial: serialHex(leaf),
              fingerprintSha256,
              notBefore: leaf.notBefore.toISOString(),
              notAfter: leaf.notAfter.toISOString(),
            },
          });
        },
        certificate: {
          serial: serialHex(leaf),
          fingerprintSha256,
          subject: leaf.subject,
          notBefore: leaf.notBefore,
          notAfter: leaf.notAfter,
          chainPem: certificateChainToPem(chain),
        },
        details: {
          serial: serialHex(leaf),
          fingerprintSha256,
          notBefore: leaf.notBefore.toISOString(),
          notAfter: leaf.notAfter.toISOString(),
          chainLength: chain.length,
          ...(download.stiCrUrl ? { caStiCrUrl: download.stiCrUrl } : {}),
        },
      };
    });
  }
}
