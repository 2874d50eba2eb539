import { Global, Module } from '@nestjs/common';
import { CertificatesModule } from '../certificates/certificates.module.js';
import { CertificatePublisher } from './certificate-publisher.js';
import { CertificateImportController } from './import/certificate-import.controller.js';
import { CertificateImportService } from './import/certificate-import.service.js';
import { PublicationChecker } from './publication-checker.js';
import { PublicationCleanup } from './publication-cleanup.js';
import { PublicationLedger } from './publication-ledger.js';
import { PublicationProbe } from './publication-probe.js';
import { PublicationsController } from './publications.controller.js';
import { PublicationsService } from './publications.service.js';
import { PublishingJobs } from './publishing.jobs.js';
import { StiCrAccess } from './sti-cr-access.js';
import { StiCrPublisher } from './sti-cr-publisher.js';

/**
 * STI-CR publishing (issue 6): the lifecycle's CertificatePublisher (global, so procurement's
 * publish step finds it without importing this feature), the daily probe and clean-up, the
 * publications API and certificate import. The filesystem store's HTTPS listener is started at
 * boot (embedded/embedded-sti-cr.ts), outside Nest, because its TLS root must be trusted before
 * the application exists.
 */
@Global()
@Module({
  imports: [CertificatesModule],
  controllers: [PublicationsController, CertificateImportController],
  providers: [
    StiCrAccess,
    PublicationLedger,
    PublicationChecker,
    StiCrPublisher,
    { provide: CertificatePublisher, useExisting: StiCrPublisher },
    PublicationProbe,
    PublicationCleanup,
    PublicationsService,
    PublishingJobs,
    CertificateImportService,
  ],
  exports: [CertificatePublisher, PublicationProbe, PublicationCleanup],
})
export class PublishingModule {}
