import { Body, Controller, Get, Head, Headers, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SandboxUrls } from '../../common/sandbox-urls.js';
import { SANDBOX_CLOCK, SANDBOX_CONFIG } from '../../common/tokens.js';
import type { SandboxConfig } from '../../config.js';
import { AcmeProblem, notFound } from './acme-problem.js';
import { AcmeRequestVerifier, requirePostAsGet, type KeyMode, type VerifiedRequest } from './acme-request.js';
import { accountUrl, orderStatus, renderAccount, renderAuthorization, renderChallenge, renderOrder } from './acme-resources.js';
import { AcmeAccounts } from './accounts.js';
import { AcmeChallenges } from './challenges.js';
import { AcmeIssuance } from './issuance.js';
import { AcmeOrders } from './orders.js';
import { AcmeRevocation } from './revocation.js';
import { SandboxStore } from '../../state/sandbox-store.js';

type Json = Record<string, unknown>;

/** RFC 8555 §7.4, §8.2: how long a client should wait before polling a resource in progress. */
const RETRY_AFTER_SECONDS = '1';

/**
 * The STI-CA's ACME endpoints (RFC 8555 §7) for TNAuthList orders with tkauth-01 (RFC 9447,
 * RFC 9448). Every POST is authenticated by AcmeRequestVerifier; resources are fetched with
 * POST-as-GET only. Replay-Nonce, the index Link and Cache-Control are added to every answer by
 * the ACME response hook.
 */
@Controller('acme')
export class AcmeController {
  constructor(
    private readonly verifier: AcmeRequestVerifier,
    private readonly accounts: AcmeAccounts,
    private readonly orders: AcmeOrders,
    private readonly challenges: AcmeChallenges,
    private readonly issuance: AcmeIssuance,
    private readonly revocation: AcmeRevocation,
    private readonly store: SandboxStore,
    private readonly urls: SandboxUrls,
    @Inject(SANDBOX_CONFIG) private readonly config: SandboxConfig,
    @Inject(SANDBOX_CLOCK) private readonly clock: () => Date,
  ) {}

  @Get('directory')
  directory(): Json {
    return {
      newNonce: this.urls.acme('new-nonce'),
      newAccount: this.urls.acme('new-account'),
      newOrder: this.urls.acme('new-order'),
      revokeCert: this.urls.acme('revoke-cert'),
      keyChange: this.urls.acme('key-change'),
      meta: {
        website: `${this.urls.base}/`,
        externalAccountRequired: this.config.requireEab,
      },
    };
  }

  // RFC 8555 §7.2: HEAD answers 200, GET answers 204; both carry a fresh Replay-Nonce.
  @Head('new-nonce')
  @HttpCode(200)
  nonceHead(): void {}

  @Get('new-nonce')
  @HttpCode(204)
  nonceGet(): void {}

  // RFC 8555 §6.3: every resource other than the directory and newNonce is fetched with POST-as-GET.
  @Get(['new-account', 'new-order', 'revoke-cert', 'key-change', 'account/:id', 'account/:id/orders', 'order/:id', 'order/:id/finalize', 'authz/:id', 'chall/:id', 'cert/:id'])
  getNotAllowed(): never {
    throw new AcmeProblem('malformed', 'ACME resources are fetched with POST-as-GET (RFC 8555 §6.3)', { status: 405, headers: { allow: 'POST' } });
  }

  @Post('new-account')
  async newAccount(@Req() req: FastifyRequest, @Body() body: unknown, @Headers('content-type') type: string | undefined, @Res({ passthrough: true }) reply: FastifyReply): Promise<Json> {
    const request = await this.authenticate(req, body, type, 'jwk');
    const { account, created } = await this.accounts.newAccount(request);
    void reply.status(created ? 201 : 200).header('location', accountUrl(this.urls, account));
    return renderAccount(this.urls, account);
  }

  @Post('account/:id')
  @HttpCode(200)
  async account(@Param('id') id: string, @Req() req: FastifyRequest, @Body() body: unknown, @Headers('content-type') type: string | undefined): Promise<Json> {
    const request = await this.authenticate(req, body, type, 'kid');
    return renderAccount(this.urls, await this.accounts.update(request, id));
  }

  @Post('account/:id/orders')
  @HttpCode(200)
  async accountOrders(@Param('id') id: string, @Req() req: FastifyRequest, @Body() body: unknown, @Headers('content-type') type: string | undefined): Promise<Json> {
    const request = await this.authenticate(req, body, type, 'kid');
    requirePostAsGet(request, 'the orders list');
    if (request.account?.id !== id) throw new AcmeProblem('unauthorized', 'the JWS kid is not this account');
    return { orders: this.orders.ordersOf(id).map((order) => this.urls.acme(`order/${order.id}`)) };
  }

  @Post('key-change')
  @HttpCode(200)
  async keyChange(@Req() req: FastifyRequest, @Body() body: unknown, @Headers('content-type') type: string | undefined, @Res({ passthrough: true }) reply: FastifyReply): Promise<Json> {
    const request = await this.authenticate(req, body, type, 'kid');
    const account = await this.accounts.changeKey(request, this.urls.acme('key-change'));
    void reply.header('location', accountUrl(this.urls, account));
    return renderAccount(this.urls, account);
  }

  @Post('new-order')
  async newOrder(@Req() req: FastifyRequest, @Body() body: unknown, @Headers('content-type') type: string | undefined, @Res({ passthrough: true }) reply: FastifyReply): Promise<Json> {
    const request = await this.authenticate(req, body, type, 'kid');
    const order = await this.orders.newOrder(request);
    void reply.status(201).header('location', this.urls.acme(`order/${order.id}`));
    return renderOrder(this.urls, order, this.orders.authorizationsOf(order), this.clock());
  }

  @Post('order/:id')
  @HttpCode(200)
  async order(@Param('id') id: string, @Req() req: FastifyRequest, @Body() body: unknown, @Headers('content-type') type: string | undefined, @Res({ passthrough: true }) reply: FastifyReply): Promise<Json> {
    const request = await this.authenticate(req, body, type, 'kid');
    requirePostAsGet(request, 'an order');
    return this.orderResponse(this.orders.ownedOrder(request, id).id, reply);
  }

  @Post('order/:id/finalize')
  @HttpCode(200)
  async finalize(@Param('id') id: string, @Req() req: FastifyRequest, @Body() body: unknown, @Headers('content-type') type: string | undefined, @Res({ passthrough: true }) reply: FastifyReply): Promise<Json> {
    const request = await this.authenticate(req, body, type, 'kid');
    const order = await this.issuance.finalize(request, id);
    return this.orderResponse(order.id, reply);
  }

  @Post('authz/:id')
  @HttpCode(200)
  async authorization(@Param('id') id: string, @Req() req: FastifyRequest, @Body() body: unknown, @Headers('content-type') type: string | undefined, @Res({ passthrough: true }) reply: FastifyReply): Promise<Json> {
    const request = await this.authenticate(req, body, type, 'kid');
    const authz = await this.orders.updateAuthorization(request, id);
    if (authz.challenge.status === 'processing') void reply.header('retry-after', RETRY_AFTER_SECONDS);
    return renderAuthorization(this.urls, authz, this.clock());
  }

  @Post('chall/:id')
  @HttpCode(200)
  async challenge(@Param('id') id: string, @Req() req: FastifyRequest, @Body() body: unknown, @Headers('content-type') type: string | undefined, @Res({ passthrough: true }) reply: FastifyReply): Promise<Json> {
    const request = await this.authenticate(req, body, type, 'kid');
    const authz = await this.challenges.respond(request, id);
    // RFC 8555 §7.5.1: the challenge links up to its authorization.
    void reply.header('link', `<${this.urls.acme(`authz/${authz.id}`)}>;rel="up"`);
    if (authz.challenge.status === 'processing') void reply.header('retry-after', RETRY_AFTER_SECONDS);
    return renderChallenge(this.urls, authz.challenge);
  }

  @Post('cert/:id')
  @HttpCode(200)
  async certificate(@Param('id') id: string, @Req() req: FastifyRequest, @Body() body: unknown, @Headers('content-type') type: string | undefined, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const request = await this.authenticate(req, body, type, 'kid');
    requirePostAsGet(request, 'a certificate');
    const record = this.store.state.certificates.find((candidate) => candidate.id === id);
    if (!record) throw notFound('certificate');
    if (record.accountId !== request.account?.id) throw new AcmeProblem('unauthorized', 'this certificate belongs to another account');
    // RFC 8555 §7.4.2: the default format is the PEM chain, leaf first.
    void reply.header('content-type', 'application/pem-certificate-chain');
    return record.chainPem;
  }

  @Post('revoke-cert')
  @HttpCode(200)
  async revokeCert(@Req() req: FastifyRequest, @Body() body: unknown, @Headers('content-type') type: string | undefined, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const request = await this.authenticate(req, body, type, 'either');
    await this.revocation.revoke(request);
    void reply.header('content-length', '0');
    return '';
  }

  private authenticate(req: FastifyRequest, body: unknown, contentType: string | undefined, mode: KeyMode): Promise<VerifiedRequest> {
    return this.verifier.verify(body, contentType, `${this.urls.base}${req.url}`, mode);
  }

  private orderResponse(orderId: string, reply: FastifyReply): Json {
    const order = this.store.state.orders.find((candidate) => candidate.id === orderId);
    if (!order) throw notFound('order');
    const authzs = this.orders.authorizationsOf(order);
    const now = this.clock();
    void reply.header('location', this.urls.acme(`order/${order.id}`));
    if (orderStatus(order, authzs, now) === 'processing') void reply.header('retry-after', RETRY_AFTER_SECONDS);
    return renderOrder(this.urls, order, authzs, now);
  }
}
