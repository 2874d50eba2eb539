import { Injectable, Optional } from '@nestjs/common';
import { PrismaService } from '@app/db';
import { CertificatePublisher } from '../../publishing/certificate-publisher.js';
import type { OrderContext } from '../order-context.js';
import { ProcurementError } from '../procurement-errors.js';
import type { OrderStep, StepOutcome } from './order-step.js';

/**
 * checked → published: the chain handed to the STI-CR publisher (issue 6), which uploads it under
 * one immutable URL and checks that URL the way a verifier would before it answers. The
 * certificate shows `publishing` while this runs and after a failure (retried with backoff). The
 * publisher keys its work by certificate id, so asking again after a crash returns the same URL.
 *
 * Without a publisher in the application (the publishing feature not installed) the step waits,
 * visibly, with PUBLISH.NOT_CONFIGURED: nothing is activated that verifiers could not fetch.
 */
@Injectable()
export class PublishCertificateStep implements OrderStep {
  readonly name = 'publishCertificate' as const;

  constructor(
    private readonly prisma: PrismaService,
    @Optional() private readonly publisher?: CertificatePublisher,
  ) {}

  async run(context: OrderContext): Promise<StepOutcome> {
    const { certificate } = context;
    if (!certificate.chainPem || !certificate.fingerprintSha256 || !certificate.notAfter) {
      throw new ProcurementError('CERTIFICATE_ORDER.INCONSISTENT', `certificate ${certificate.id} reached publishing without its chain`, true);
    }
    await this.prisma.certificate.updateMany({ where: { id: certificate.id, status: 'checked' }, data: { status: 'publishing' } });
    if (!this.publisher) {
      throw new ProcurementError('PUBLISH.NOT_CONFIGURED', 'no STI-CR publisher is configured in this service; the certificate waits in publishing', false);
    }
    const published = await this.publisher.publish({
      certificateId: certificate.id,
      spc: context.ocn.code,
      fingerprintSha256: certificate.fingerprintSha256,
      chainPem: certificate.chainPem,
      notAfter: certificate.notAfter,
    });
    return { certificate: { x5u: published.x5u }, details: { publicationId: published.publicationId, x5u: published.x5u } };
  }
}
