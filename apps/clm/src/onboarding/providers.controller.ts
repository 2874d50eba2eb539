import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Put } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import { Actor, AdminApi } from '../auth/admin-api.decorator.js';
import type { AdminActor } from '../auth/roles.js';
import { AddOcnDto, CreateProviderDto, PutStiPaAccountDto, SuspendSigningDto, UpdateProviderDto } from './providers.dto.js';
import { ProvidersService } from './providers.service.js';
import { SigningSuspension } from './signing-suspension.service.js';

@AdminApi('onboarding')
@Controller('api/v1/providers')
export class ProvidersController {
  constructor(
    private readonly providers: ProvidersService,
    private readonly suspension: SigningSuspension,
  ) {}

  @Post()
  create(@Body() body: CreateProviderDto, @Actor() actor: AdminActor) {
    return this.providers.create(body, actor);
  }

  @Get()
  list() {
    return this.providers.list();
  }

  @Get(':id')
  get(@Param('id', new ParseUUIDPipe()) id: string) {
    return this.providers.get(id);
  }

  @Patch(':id')
  update(@Param('id', new ParseUUIDPipe()) id: string, @Body() body: UpdateProviderDto, @Actor() actor: AdminActor) {
    return this.providers.update(id, body, actor);
  }

  @Post(':id/ocns')
  addOcn(@Param('id', new ParseUUIDPipe()) id: string, @Body() body: AddOcnDto, @Actor() actor: AdminActor) {
    return this.providers.addOcn(id, body, actor);
  }

  @Put(':id/sti-pa-account')
  putStiPaAccount(@Param('id', new ParseUUIDPipe()) id: string, @Body() body: PutStiPaAccountDto, @Actor() actor: AdminActor) {
    return this.providers.putStiPaAccount(id, body, actor);
  }

  @Post(':id/suspend-signing')
  @HttpCode(200)
  @ApiOperation({
    summary: 'stop the provider signing calls (its SPC token was revoked, STI-GA): signers get 403 SIGNER.SIGNING_SUSPENDED for its OCNs at once',
    description: 'Audited; emits provider.signing_suspended. 409 PROVIDER.SIGNING_ALREADY_SUSPENDED when it already is. Never set automatically: an SPC token refusal is not proof of revocation.',
  })
  suspendSigning(@Param('id', new ParseUUIDPipe()) id: string, @Body() body: SuspendSigningDto, @Actor() actor: AdminActor) {
    return this.suspension.suspend(id, body.reason, actor);
  }

  @Post(':id/resume-signing')
  @HttpCode(200)
  @ApiOperation({
    summary: 'lift a signing suspension (the STI-GA reinstated the provider): signers are served again at once',
    description: 'Audited; emits provider.signing_resumed. 409 PROVIDER.SIGNING_NOT_SUSPENDED when it is not suspended.',
  })
  resumeSigning(@Param('id', new ParseUUIDPipe()) id: string, @Actor() actor: AdminActor) {
    return this.suspension.resume(id, actor);
  }
}
