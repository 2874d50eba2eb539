import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { DbModule } from '@app/db';
import { AuditModule } from './audit/audit.module.js';
import { AuthModule } from './auth/auth.module.js';
import { CertificatesModule } from './certificates/certificates.module.js';
import { ProblemFilter } from './common/problem.filter.js';
import { ConfigModule, type RuntimeContext } from './config/config.module.js';
import { JobsModule } from './jobs/jobs.module.js';
import { KeysModule } from './keys/keys.module.js';
import { OnboardingModule } from './onboarding/onboarding.module.js';
import { HealthController } from './ops/health.controller.js';
import { PublishingModule } from './publishing/publishing.module.js';
import { RenewalModule } from './renewal/renewal.module.js';
import { SignersModule } from './signers/signers.module.js';
import { WebhooksModule } from './webhooks/webhooks.module.js';

@Module({})
export class AppModule {
  static forRoot(runtime: RuntimeContext): DynamicModule {
    return {
      module: AppModule,
      imports: [ConfigModule.forRoot(runtime), DbModule.forRoot({ url: runtime.databaseUrl }), AuditModule, AuthModule, JobsModule, OnboardingModule, KeysModule, CertificatesModule, PublishingModule, WebhooksModule, RenewalModule, SignersModule],
      controllers: [HealthController],
      providers: [{ provide: APP_FILTER, useClass: ProblemFilter }],
    };
  }
}
