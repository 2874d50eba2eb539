import { applyDecorators, createParamDecorator, type ExecutionContext, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AdminAuthGuard, type AdminRequest } from './admin-auth.guard.js';
import type { AdminActor } from './roles.js';

/** Marks a controller as part of the admin API: bearer token required, roles enforced. */
export const AdminApi = (tag: string) => applyDecorators(UseGuards(AdminAuthGuard), ApiBearerAuth('admin'), ApiTags(tag));

/** The authenticated admin, for the audit record of the change the handler makes. */
export const Actor = createParamDecorator((_: unknown, context: ExecutionContext): AdminActor => {
  const actor = context.switchToHttp().getRequest<AdminRequest>().adminActor;
  if (!actor) throw new Error('Actor used on a route without AdminApi');
  return actor;
});
