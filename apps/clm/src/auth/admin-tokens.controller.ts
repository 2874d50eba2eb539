import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsString, Length, Matches } from 'class-validator';
import { Actor, AdminApi } from './admin-api.decorator.js';
import { RequirePermission } from './admin-auth.guard.js';
import { AdminTokenService } from './admin-token.service.js';
import { ADMIN_ROLES, type AdminActor, type AdminRole } from './roles.js';

export class CreateAdminTokenDto {
  @ApiProperty({ example: 'compliance-desk', description: 'who or what will use the token' })
  @IsString()
  @Length(1, 100)
  @Matches(/^[\w .@-]+$/, { message: 'name may contain letters, digits, space and . _ @ -' })
  name!: string;

  @ApiProperty({ enum: ADMIN_ROLES })
  @IsIn(ADMIN_ROLES)
  role!: AdminRole;
}

@AdminApi('admin tokens')
@Controller('api/v1/admin-tokens')
@RequirePermission('tokens')
export class AdminTokensController {
  constructor(private readonly tokens: AdminTokenService) {}

  /** The token is in this response only; it is stored hashed. */
  @Post()
  async create(@Body() body: CreateAdminTokenDto, @Actor() actor: AdminActor) {
    const { token, view } = await this.tokens.create(body.name, body.role, actor);
    return { ...view, token };
  }

  @Get()
  list() {
    return this.tokens.list();
  }

  @Post(':id/revoke')
  @HttpCode(200)
  revoke(@Param('id', new ParseUUIDPipe()) id: string, @Actor() actor: AdminActor) {
    return this.tokens.revoke(id, actor);
  }
}
