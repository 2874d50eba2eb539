import { Controller, HttpCode, Post } from '@nestjs/common';
import { Actor, AdminApi } from '../auth/admin-api.decorator.js';
import { RequirePermission } from '../auth/admin-auth.guard.js';
import type { AdminActor } from '../auth/roles.js';
import { RewrapService } from './rewrap.service.js';

@AdminApi('keys')
@Controller('api/v1/keys')
export class KeysController {
  constructor(private readonly rewrap: RewrapService) {}

  /** Reseals every stored secret under the current KEK (after a CLM_MASTER_KEY rotation). */
  @Post('rewrap')
  @HttpCode(200)
  @RequirePermission('keys')
  rewrapAll(@Actor() actor: AdminActor) {
    return this.rewrap.rewrapAll({ type: 'admin', admin: actor });
  }
}
