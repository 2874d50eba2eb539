import { type CanActivate, type ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '../common/domain-error.js';
import { AdminTokenService } from './admin-token.service.js';
import { type AdminActor, type AdminPermission, ROLE_PERMISSIONS } from './roles.js';

const PERMISSION_KEY = 'clm:admin-permission';

/**
 * Overrides the permission a route needs. Without it, GET/HEAD need `read` and every other
 * method `write`, so a new write route cannot be opened to auditors by forgetting a decorator.
 */
export const RequirePermission = (permission: AdminPermission) => SetMetadata(PERMISSION_KEY, permission);

const PERMISSION_WORDS: Record<AdminPermission, string> = {
  read: 'read',
  write: 'make changes',
  tokens: 'manage admin tokens',
  keys: 'maintain key-encryption keys',
};

export type AdminRequest = FastifyRequest & { adminActor?: AdminActor };

@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(
    private readonly tokens: AdminTokenService,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AdminRequest>();
    const presented = bearerToken(request.headers.authorization);
    if (!presented) {
      throw new DomainError('AUTH.UNAUTHENTICATED', 401, 'an admin bearer token is required (Authorization: Bearer <token>)');
    }
    const token = await this.tokens.authenticate(presented);
    if (!token) throw new DomainError('AUTH.INVALID_TOKEN', 401, 'the bearer token is unknown or revoked');

    const needed = this.reflector.getAllAndOverride<AdminPermission | undefined>(PERMISSION_KEY, [
      context.getHandler(),
      context.getClass(),
    ]) ?? (request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'write');
    if (!ROLE_PERMISSIONS[token.role].includes(needed)) {
      throw new DomainError('AUTH.FORBIDDEN', 403, `role ${token.role} may not ${PERMISSION_WORDS[needed]}`);
    }
    request.adminActor = {
      tokenId: token.id,
      name: token.name,
      role: token.role,
      sourceAddress: request.ip,
      correlationId: String(request.id),
    };
    return true;
  }
}

function bearerToken(header: string | undefined): string | undefined {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}
