import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import { PrismaService } from '@app/db';
import { AdminApi } from '../auth/admin-api.decorator.js';
import { ExpiryWarnings } from './expiry-warnings.js';
import { SpcTokenWatch, type SpcTokenWatchSummary } from './spc-token-watch.js';
import { StiPaCaListMonitor, type CaListRefreshResult } from './sti-pa-ca-list-monitor.js';
import { StiPaCrlMonitor, type CrlRefreshResult } from './sti-pa-crl-monitor.js';

export interface StiPaStatusView {
  crls: { url: string; issuer: string; thisUpdate: Date; nextUpdate: Date | null; fetchedAt: Date; signatureVerified: boolean; revokedCount: number; lastError: string | null; lastErrorAt: Date | null }[];
  caLists: { stiPaBaseUrl: string; version: string; sequence: number; expiresAt: Date; trustListSize: number; fetchedAt: Date; lastError: string | null; lastErrorAt: Date | null }[];
}

@AdminApi('monitoring')
@Controller('api/v1/monitoring')
export class MonitoringController {
  constructor(
    private readonly prisma: PrismaService,
    private readonly crl: StiPaCrlMonitor,
    private readonly caList: StiPaCaListMonitor,
    private readonly tokens: SpcTokenWatch,
    private readonly expiry: ExpiryWarnings,
  ) {}

  @Get('sti-pa')
  @ApiOperation({ summary: 'the STI-PA CRLs and CA lists as last fetched and checked' })
  async stiPa(): Promise<StiPaStatusView> {
    const [crls, caLists] = await Promise.all([this.prisma.stiPaCrlSnapshot.findMany({ orderBy: { url: 'asc' } }), this.prisma.stiPaCaListSnapshot.findMany({ orderBy: { stiPaBaseUrl: 'asc' } })]);
    return {
      crls: crls.map(({ der: _der, id: _id, ...rest }) => rest),
      caLists: caLists.map(({ trustListPem, id: _id, ...rest }) => ({ ...rest, trustListSize: trustListPem.length })),
    };
  }

  @Post('sti-pa/refresh')
  @HttpCode(200)
  @ApiOperation({ summary: 'download and check every STI-PA CRL and CA list now (our certificates on a CRL become revoked)' })
  async refreshStiPa(): Promise<{ crls: CrlRefreshResult[]; caLists: CaListRefreshResult[] }> {
    return { caLists: await this.caList.refreshDue({ force: true }), crls: await this.crl.refreshDue({ force: true }) };
  }

  @Post('spc-tokens/run')
  @HttpCode(200)
  runTokenWatch(): Promise<SpcTokenWatchSummary> {
    return this.tokens.run();
  }

  @Post('expiry-warnings/run')
  @HttpCode(200)
  runExpiryWarnings(): Promise<{ warned: number }> {
    return this.expiry.run();
  }
}
