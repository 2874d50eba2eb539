import { Module } from '@nestjs/common';
import { ProvidersController } from './providers.controller.js';
import { ProvidersService } from './providers.service.js';
import { ReadinessModule } from './readiness/readiness.module.js';
import { SigningSuspension } from './signing-suspension.service.js';
import { StiCasController } from './sti-cas.controller.js';
import { StiCasService } from './sti-cas.service.js';

@Module({
  imports: [ReadinessModule],
  controllers: [ProvidersController, StiCasController],
  providers: [ProvidersService, StiCasService, SigningSuspension],
  exports: [ProvidersService, StiCasService],
})
export class OnboardingModule {}
