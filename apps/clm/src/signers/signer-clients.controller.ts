import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Put } from '@nestjs/common';
import { ApiCreatedResponse } from '@nestjs/swagger';
import { Actor, AdminApi } from '../auth/admin-api.decorator.js';
import type { AdminActor } from '../auth/roles.js';
import { CreateSignerDto, PutSignerOcnsDto } from './signer-clients.dto.js';
import { SignerClientsService } from './signer-clients.service.js';

@AdminApi('signers')
@Controller('api/v1/signers')
export class SignerClientsController {
  constructor(private readonly signers: SignerClientsService) {}

  /** The credential is in this response only; it is stored hashed. */
  @Post()
  @ApiCreatedResponse({ description: 'the signer, with its credential (clm_signer_…), shown this once' })
  create(@Body() body: CreateSignerDto, @Actor() actor: AdminActor) {
    return this.signers.create(body, actor);
  }

  @Get()
  list() {
    return this.signers.list();
  }

  @Get(':id')
  get(@Param('id', new ParseUUIDPipe()) id: string) {
    return this.signers.get(id);
  }

  /** A new credential, shown once; the previous one stops working. */
  @Post(':id/rotate')
  @HttpCode(200)
  rotate(@Param('id', new ParseUUIDPipe()) id: string, @Actor() actor: AdminActor) {
    return this.signers.rotate(id, actor);
  }

  @Post(':id/disable')
  @HttpCode(200)
  disable(@Param('id', new ParseUUIDPipe()) id: string, @Actor() actor: AdminActor) {
    return this.signers.disable(id, actor);
  }

  @Put(':id/ocns')
  setOcns(@Param('id', new ParseUUIDPipe()) id: string, @Body() body: PutSignerOcnsDto, @Actor() actor: AdminActor) {
    return this.signers.setOcns(id, body.ocns, actor);
  }
}
