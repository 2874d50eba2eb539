import { Controller, Get, Param, ParseUUIDPipe } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { AdminApi } from '../../auth/admin-api.decorator.js';
import { ReadinessService } from './readiness.service.js';
import { ProviderReadinessView } from './readiness.views.js';

@AdminApi('onboarding')
@Controller('api/v1/providers')
export class ReadinessController {
  constructor(private readonly readiness: ReadinessService) {}

  /** Read permission (GET): auditors may look. Logs in to the STI-PA and may fetch an SPC token (kept for the next order). */
  @Get(':id/readiness')
  @ApiOperation({
    summary: 'onboarding checklist per OCN: FRN, 499-A, RMD, STI-PA login, STI-CA account, SPC token, active certificate, x5u health, signer',
    description: 'Each item is ok, missing or failing with the reason and the next step. The STI-PA login and the token request are bounded (10 s, 15 s).',
  })
  @ApiOkResponse({ type: ProviderReadinessView })
  get(@Param('id', new ParseUUIDPipe()) id: string): Promise<ProviderReadinessView> {
    return this.readiness.check(id);
  }
}
