import { BadRequestException, Body, Controller, Delete, Get, HttpCode, Inject, Post, UseGuards } from '@nestjs/common';
import { ClockOffset } from '../common/clock-offset.js';
import { SANDBOX_CLOCK } from '../common/tokens.js';
import { parseFaultUpdate, type FaultSettings } from '../faults/fault-settings.js';
import { FaultState } from '../faults/fault-state.js';
import { orderStatus } from '../sti-ca/acme/acme-resources.js';
import { AcmeAccounts } from '../sti-ca/acme/accounts.js';
import { AcmeOrders } from '../sti-ca/acme/orders.js';
import { CaListPublisher } from '../sti-pa/ca-list-publisher.js';
import { CrlPublisher } from '../sti-pa/crl-publisher.js';
import { StiPaAccessPolicy, type AccessPolicyView } from '../sti-pa/access-policy.js';
import { StiPaSessions } from '../sti-pa/sti-pa-sessions.js';
import { StiPaUserError, StiPaUsers } from '../sti-pa/sti-pa-users.js';
import { SandboxStore } from '../state/sandbox-store.js';
import { AdminGuard } from './admin.guard.js';
import { AccessPolicyDto, AddUserDto, ClockOffsetDto } from './admin.dto.js';

/**
 * The sandbox operator's API (`Authorization: Bearer <admin secret>`): fault switches, STI-PA
 * users and access policy, EAB keys, and a state snapshot for tests. Not part of any real service.
 */
@Controller('admin')
@UseGuards(AdminGuard)
export class AdminController {
  constructor(
    private readonly faults: FaultState,
    private readonly users: StiPaUsers,
    private readonly sessions: StiPaSessions,
    private readonly access: StiPaAccessPolicy,
    private readonly accounts: AcmeAccounts,
    private readonly orders: AcmeOrders,
    private readonly crls: CrlPublisher,
    private readonly caLists: CaListPublisher,
    private readonly store: SandboxStore,
    @Inject(SANDBOX_CLOCK) private readonly clock: () => Date,
    private readonly clockOffset: ClockOffset,
  ) {}

  @Get('clock')
  getClock(): { now: string; offsetMs: number } {
    return { now: this.clock().toISOString(), offsetMs: this.clockOffset.ms };
  }

  /** Moves the sandbox's clock (certificates, SPC tokens, CA list, CRL, sessions) by offsetMs from real time. */
  @Post('clock')
  @HttpCode(200)
  setClock(@Body() body: ClockOffsetDto): { now: string; offsetMs: number } {
    this.clockOffset.set(body.offsetMs);
    return this.getClock();
  }

  @Get('faults')
  getFaults(): Readonly<FaultSettings> {
    return this.faults.settings;
  }

  /** Sets the given switches; the others keep their values. Unknown switches are a 400. */
  @Post('faults')
  @HttpCode(200)
  setFaults(@Body() body: unknown): Readonly<FaultSettings> {
    const { update, problems } = parseFaultUpdate(body);
    if (problems.length > 0) throw new BadRequestException(problems);
    return this.faults.set(update);
  }

  @Delete('faults')
  resetFaults(): Readonly<FaultSettings> {
    return this.faults.reset();
  }

  @Post('users')
  async addUser(@Body() body: AddUserDto): Promise<{ userId: string; ocns: string[]; caTokens: boolean }> {
    try {
      await this.users.add(body.userId, body.password, body.ocns, body.caTokens ?? false);
    } catch (error) {
      if (error instanceof StiPaUserError) throw new BadRequestException(error.message);
      throw error;
    }
    this.sessions.revokeUser(body.userId);
    return { userId: body.userId, ocns: body.ocns, caTokens: body.caTokens ?? false };
  }

  /** Source allow-list (and its refusal's wording), rate limit, and a reset of the rate-limit counters. */
  @Post('sti-pa/access')
  @HttpCode(200)
  setAccess(@Body() body: AccessPolicyDto): AccessPolicyView {
    return this.access.update(body);
  }

  @Post('eab-keys')
  async createEabKey(): Promise<{ kid: string; hmacKey: string }> {
    const key = await this.accounts.createEabKey();
    return { kid: key.kid, hmacKey: key.hmacKey };
  }

  @Get('state')
  async state(): Promise<Record<string, unknown>> {
    const now = this.clock();
    const state = this.store.state;
    await this.crls.crl();
    return {
      faults: this.faults.settings,
      stiPa: {
        users: this.users.list(),
        activeSessions: this.sessions.activeCount,
        access: this.access.current(),
        caList: { sequence: state.caListSequence, trustListSize: this.caLists.trustList().length },
        crl: { number: state.crlNumber, revokedSerials: this.crls.revokedSerials() },
      },
      acme: {
        accounts: state.accounts.map((account) => ({ id: account.id, status: account.status, thumbprint: account.thumbprint, eabKid: account.eabKid ?? null })),
        orders: state.orders.map((order) => ({
          id: order.id,
          accountId: order.accountId,
          spc: order.spc ?? null,
          status: orderStatus(order, this.orders.authorizationsOf(order), now),
          challengeAttempts: this.orders.authorizationsOf(order).map((authz) => authz.challenge.attempts),
          certificateId: order.certificateId ?? null,
        })),
        certificates: state.certificates.map((certificate) => ({
          id: certificate.id,
          serial: certificate.serial,
          orderId: certificate.orderId,
          notAfter: certificate.notAfter,
          revocation: certificate.revocation ?? null,
        })),
        eabKeys: state.eabKeys.map((key) => ({ kid: key.kid, accountId: key.accountId ?? null })),
      },
    };
  }
}
