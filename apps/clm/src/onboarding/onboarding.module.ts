import { Module } from '@nestjs/common';
import { ProvidersController } from './providers.controller.js';
import { ProvidersService } from './providers.service.js';
import { ReadinessModule } from './readiness/readiness.module.js';
import { StiCasController } from './sti-cas.controller.js';
import { StiCasService } from './sti-cas.service.js';

@Module({
  imports: [ReadinessModule],
  controllers: [ProvidersController, StiCasController],
  providers: [ProvidersService, StiCasService],
  exports: [ProvidersService, StiCasService],
})
export class OnboardingModule {}
