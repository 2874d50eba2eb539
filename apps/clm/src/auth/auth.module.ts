import { Global, Module } from '@nestjs/common';
import { AdminAuthGuard } from './admin-auth.guard.js';
import { AdminTokenService } from './admin-token.service.js';
import { AdminTokensController } from './admin-tokens.controller.js';

@Global()
@Module({
  controllers: [AdminTokensController],
  providers: [AdminTokenService, AdminAuthGuard],
  exports: [AdminTokenService, AdminAuthGuard],
})
export class AuthModule {}
