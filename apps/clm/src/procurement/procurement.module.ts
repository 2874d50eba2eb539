import { Module } from '@nestjs/common';
import { CertificateTrustCheck } from './certificate-trust-check.js';
import { FreshKeyReplacement } from './fresh-key-replacement.js';
import { HaltTestHook } from './halt-test-hook.js';
import { OrderLedger } from './order-ledger.js';
import { OrderProcessor } from './order-processor.js';
import { OrderWorker } from './order-worker.js';
import { ProcurementService } from './procurement.service.js';
import { SpcTokens } from './spc-tokens.js';
import { ActivateCertificateStep } from './steps/activate-certificate.step.js';
import { AnswerChallengeStep } from './steps/answer-challenge.step.js';
import { CheckCertificateStep } from './steps/check-certificate.step.js';
import { CreateAcmeOrderStep } from './steps/create-acme-order.step.js';
import { DownloadChainStep } from './steps/download-chain.step.js';
import { EnsureAcmeAccountStep } from './steps/ensure-acme-account.step.js';
import { FinalizeOrderStep } from './steps/finalize-order.step.js';
import { ObtainSpcTokenStep } from './steps/obtain-spc-token.step.js';
import { PublishCertificateStep } from './steps/publish-certificate.step.js';
import { StiClients } from './sti-clients.js';
import { StiPaTrust } from './sti-pa-trust.js';

/**
 * Certificate procurement (issue 5): the order state machine, its steps, the worker that runs
 * them on every replica, and ProcurementService, where orders start (new certificates and
 * renewals). The STI-CR publisher is injected when the application provides one.
 */
@Module({
  providers: [
    StiClients,
    StiPaTrust,
    CertificateTrustCheck,
    SpcTokens,
    OrderLedger,
    OrderProcessor,
    OrderWorker,
    HaltTestHook,
    ProcurementService,
    FreshKeyReplacement,
    EnsureAcmeAccountStep,
    ObtainSpcTokenStep,
    CreateAcmeOrderStep,
    AnswerChallengeStep,
    FinalizeOrderStep,
    DownloadChainStep,
    CheckCertificateStep,
    PublishCertificateStep,
    ActivateCertificateStep,
  ],
  exports: [ProcurementService, FreshKeyReplacement, OrderWorker, CertificateTrustCheck],
})
export class ProcurementModule {}
