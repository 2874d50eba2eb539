import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AdminController } from './admin/admin.controller.js';
import { AdminGuard } from './admin/admin.guard.js';
import { ClockOffset } from './common/clock-offset.js';
import { SandboxErrorFilter } from './common/error.filter.js';
import { SandboxUrls } from './common/sandbox-urls.js';
import { ADMIN_SECRET, SANDBOX_CLOCK, SANDBOX_CONFIG, STI_PA_SIGNING_PEM } from './common/tokens.js';
import { FaultState } from './faults/fault-state.js';
import type { SandboxRuntime } from './runtime.js';
import { AcmeRequestVerifier } from './sti-ca/acme/acme-request.js';
import { AcmeController } from './sti-ca/acme/acme.controller.js';
import { AcmeAccounts } from './sti-ca/acme/accounts.js';
import { AcmeChallenges } from './sti-ca/acme/challenges.js';
import { AcmeIssuance } from './sti-ca/acme/issuance.js';
import { AcmeOrders } from './sti-ca/acme/orders.js';
import { AcmeRevocation } from './sti-ca/acme/revocation.js';
import { StiPaAccessPolicy } from './sti-pa/access-policy.js';
import { CaListPublisher } from './sti-pa/ca-list-publisher.js';
import { CrlPublisher } from './sti-pa/crl-publisher.js';
import { StiPaSessions } from './sti-pa/sti-pa-sessions.js';
import { StiPaUsers } from './sti-pa/sti-pa-users.js';
import { StiPaApiController, StiPaAuthController, StiPaDownloadController } from './sti-pa/sti-pa.controllers.js';
import { TokenDesk } from './sti-pa/token-desk.js';
import { SandboxStore } from './state/sandbox-store.js';

/**
 * Routes HTTP to the objects the runtime built: the STI-PA API and downloads, the STI-CA's ACME
 * endpoints, and the admin API. Services are registered as values, so Nest wires nothing itself.
 */
@Module({})
export class SandboxModule {
  static forRoot(runtime: SandboxRuntime): DynamicModule {
    const { services } = runtime;
    return {
      module: SandboxModule,
      controllers: [StiPaAuthController, StiPaApiController, StiPaDownloadController, AcmeController, AdminController],
      providers: [
        { provide: APP_FILTER, useClass: SandboxErrorFilter },
        AdminGuard,
        { provide: SANDBOX_CONFIG, useValue: runtime.config },
        { provide: SANDBOX_CLOCK, useValue: runtime.clock },
        { provide: ClockOffset, useValue: runtime.clockOffset },
        { provide: ADMIN_SECRET, useValue: runtime.adminSecret },
        { provide: STI_PA_SIGNING_PEM, useValue: runtime.stiPaSigningPem },
        { provide: SandboxUrls, useValue: runtime.urls },
        { provide: SandboxStore, useValue: runtime.store },
        { provide: FaultState, useValue: runtime.faults },
        { provide: StiPaUsers, useValue: services.users },
        { provide: StiPaSessions, useValue: services.sessions },
        { provide: StiPaAccessPolicy, useValue: services.access },
        { provide: TokenDesk, useValue: services.tokenDesk },
        { provide: CrlPublisher, useValue: services.crls },
        { provide: CaListPublisher, useValue: services.caLists },
        { provide: AcmeRequestVerifier, useValue: services.verifier },
        { provide: AcmeAccounts, useValue: services.accounts },
        { provide: AcmeOrders, useValue: services.orders },
        { provide: AcmeChallenges, useValue: services.challenges },
        { provide: AcmeIssuance, useValue: services.issuance },
        { provide: AcmeRevocation, useValue: services.revocation },
      ],
    };
  }
}
