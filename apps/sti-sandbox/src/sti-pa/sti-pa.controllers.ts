import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { STI_PA_SIGNING_PEM } from '../common/tokens.js';
import { FaultState } from '../faults/fault-state.js';
import { CaListPublisher } from './ca-list-publisher.js';
import { CrlPublisher } from './crl-publisher.js';
import { StiPaFailure } from './sti-pa-failure.js';
import { StiPaSessions } from './sti-pa-sessions.js';
import { StiPaUsers } from './sti-pa-users.js';
import { LoginDto, RefreshTokenDto, TokenRequestDto } from './sti-pa.dto.js';
import { TokenDesk } from './token-desk.js';

function userOrFail(sessions: StiPaSessions, authorization: string | undefined): string {
  // The STI-PA takes the access token raw in Authorization; "Bearer <token>" is not a token it issued.
  const userId = sessions.userFor(authorization);
  if (!userId) throw new StiPaFailure(401, 'access token missing, invalid or expired; log in again');
  return userId;
}

/** `/sti-pa/api/v1/auth/*`: login and refresh. */
@Controller('sti-pa/api/v1/auth')
export class StiPaAuthController {
  constructor(
    private readonly users: StiPaUsers,
    private readonly sessions: StiPaSessions,
    private readonly faults: FaultState,
  ) {}

  @Post('login')
  @HttpCode(200)
  async login(@Body() body: LoginDto): Promise<Record<string, string>> {
    if (this.faults.settings.refuseStiPaLogin) throw new StiPaFailure(401, 'login refused (sandbox fault)');
    const user = await this.users.authenticate(body.userId, body.password);
    if (!user) throw new StiPaFailure(401, 'invalid userId or password');
    return { status: 'success', ...this.sessions.issue(user.userId) };
  }

  @Post('refreshToken')
  @HttpCode(200)
  refresh(@Body() body: RefreshTokenDto): Record<string, string> {
    const session = this.sessions.renew(body.refreshToken);
    if (!session) throw new StiPaFailure(401, 'refresh token invalid or expired; log in again');
    return { status: 'success', ...session };
  }
}

/** `/sti-pa/api/v1`: SPC tokens and the CA list. */
@Controller('sti-pa/api/v1')
export class StiPaApiController {
  constructor(
    private readonly sessions: StiPaSessions,
    private readonly desk: TokenDesk,
    private readonly caLists: CaListPublisher,
  ) {}

  @Post('account/:ocn/token')
  @HttpCode(200)
  async token(
    @Param('ocn') ocn: string,
    @Headers('authorization') authorization: string | undefined,
    @Headers('accept') accept: string | undefined,
    @Body() body: TokenRequestDto,
  ): Promise<Record<string, string>> {
    const userId = userOrFail(this.sessions, authorization);
    // The STI-PA answers token requests only for clients that accept application/jose+json.
    if (!(accept ?? '').toLowerCase().includes('application/jose+json')) {
      throw new StiPaFailure(406, 'token requests must send Accept: application/jose+json');
    }
    return this.desk.requestToken(userId, ocn, body.atc);
  }

  @Get('ca-list')
  async caList(@Headers('authorization') authorization: string | undefined): Promise<Record<string, string>> {
    userOrFail(this.sessions, authorization);
    return { status: 'success', caList: await this.caLists.caList() };
  }
}

/** `/sti-pa/download/v1`: the public CRL and the STI-PA signing certificate (the tokens' x5u). */
@Controller('sti-pa/download/v1')
export class StiPaDownloadController {
  constructor(
    private readonly crls: CrlPublisher,
    @Inject(STI_PA_SIGNING_PEM) private readonly signingPem: string,
  ) {}

  @Get('crl')
  async crl(@Res({ passthrough: true }) reply: FastifyReply): Promise<Buffer> {
    void reply.header('content-type', 'application/pkix-crl').header('cache-control', 'public, max-age=3600');
    return Buffer.from(await this.crls.crl());
  }

  @Get('certificate/sti-pa-signing.pem')
  certificate(@Res({ passthrough: true }) reply: FastifyReply): string {
    void reply.header('content-type', 'application/pem-certificate-chain').header('cache-control', 'public, max-age=86400');
    return this.signingPem;
  }
}
