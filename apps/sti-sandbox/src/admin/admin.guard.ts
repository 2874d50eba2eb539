import { type CanActivate, type ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ADMIN_SECRET } from '../common/tokens.js';

/** `Authorization: Bearer <admin secret>`, compared in constant time. */
@Injectable()
export class AdminGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(@Inject(ADMIN_SECRET) secret: string) {
    this.expected = createHash('sha256').update(secret).digest();
  }

  canActivate(context: ExecutionContext): boolean {
    const header = context.switchToHttp().getRequest<FastifyRequest>().headers.authorization ?? '';
    const presented = /^Bearer (.+)$/.exec(header)?.[1];
    // Hashing first gives equal lengths, so timingSafeEqual leaks nothing about the secret.
    if (presented === undefined || !timingSafeEqual(createHash('sha256').update(presented).digest(), this.expected)) {
      throw new UnauthorizedException('admin secret required: Authorization: Bearer <secret>');
    }
    return true;
  }
}
