import { Module } from '@nestjs/common';
import { KeysController } from './keys.controller.js';
import { RewrapService } from './rewrap.service.js';

@Module({ controllers: [KeysController], providers: [RewrapService] })
export class KeysModule {}
