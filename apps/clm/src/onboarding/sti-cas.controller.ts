import { Body, Controller, Get, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { Actor, AdminApi } from '../auth/admin-api.decorator.js';
import type { AdminActor } from '../auth/roles.js';
import { CreateStiCaDto } from './sti-cas.dto.js';
import { StiCasService } from './sti-cas.service.js';

@AdminApi('onboarding')
@Controller('api/v1/sti-cas')
export class StiCasController {
  constructor(private readonly stiCas: StiCasService) {}

  @Post()
  create(@Body() body: CreateStiCaDto, @Actor() actor: AdminActor) {
    return this.stiCas.create(body, actor);
  }

  @Get()
  list() {
    return this.stiCas.list();
  }

  @Get(':id')
  get(@Param('id', new ParseUUIDPipe()) id: string) {
    return this.stiCas.get(id);
  }
}
