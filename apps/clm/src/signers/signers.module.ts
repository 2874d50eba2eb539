import { Module } from '@nestjs/common';
import { CredentialPull } from './credential-pull.js';
import { HandOffChangeListener } from './hand-off-listener.js';
import { HandOffState } from './hand-off-state.js';
import { HandOutAudit } from './hand-out-audit.js';
import { PassportSigning } from './passport-signing.js';
import { SignerClientsController } from './signer-clients.controller.js';
import { SignerClientsService } from './signer-clients.service.js';
import { SignerHttpRoutes } from './signer-http.js';

/**
 * Signer hand-off (issue 7): signer clients and their scopes (admin API), the pull API with its
 * long-poll, PASSporT signing for signers that hold no key, and the in-memory view that serves
 * them, kept current across replicas by LISTEN/NOTIFY.
 */
@Module({
  controllers: [SignerClientsController],
  providers: [HandOffState, HandOffChangeListener, HandOutAudit, CredentialPull, PassportSigning, SignerHttpRoutes, SignerClientsService],
  exports: [HandOffState, HandOutAudit],
})
export class SignersModule {}
