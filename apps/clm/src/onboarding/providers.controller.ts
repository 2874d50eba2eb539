import { Body, Controller, Get, Param, ParseUUIDPipe, Patch, Post, Put } from '@nestjs/common';
import { Actor, AdminApi } from '../auth/admin-api.decorator.js';
import type { AdminActor } from '../auth/roles.js';
import { AddOcnDto, CreateProviderDto, PutStiPaAccountDto, UpdateProviderDto } from './providers.dto.js';
import { ProvidersService } from './providers.service.js';

@AdminApi('onboarding')
@Controller('api/v1/providers')
export class ProvidersController {
  constructor(private readonly providers: ProvidersService) {}

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
}
