import { Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { Actor, AdminApi } from '../auth/admin-api.decorator.js';
import type { AdminActor } from '../auth/roles.js';
import { PublicationProbe } from './publication-probe.js';
import { toPublicationView, type PublicationView } from './publication-views.js';
import { ListPublicationsQueryDto } from './publications.dto.js';
import { PublicationsService } from './publications.service.js';

@AdminApi('publications')
@Controller('api/v1/publications')
export class PublicationsController {
  constructor(
    private readonly publications: PublicationsService,
    private readonly probe: PublicationProbe,
    private readonly audit: AuditService,
  ) {}

  /** Published chains; `?failing=true` lists the URLs verifiers cannot use at the last check. */
  @Get()
  list(@Query() query: ListPublicationsQueryDto): Promise<PublicationView[]> {
    return this.publications.list(query);
  }

  @Get(':id')
  get(@Param('id', new ParseUUIDPipe()) id: string): Promise<PublicationView> {
    return this.publications.get(id);
  }

  /** Fetches the x5u now as a verifier would and records the result (200 even when the URL fails: the check itself worked). */
  @Post(':id/check')
  @HttpCode(200)
  async check(@Param('id', new ParseUUIDPipe()) id: string, @Actor() actor: AdminActor): Promise<PublicationView> {
    const { publication, result } = await this.probe.checkOne(id);
    await this.audit.record({ type: 'admin', admin: actor }, {
      action: 'publication.checked', subjectType: 'certificate', subjectId: publication.certificateId,
      details: { publicationId: id, url: publication.url, ok: result.ok, errors: result.findings.filter((f) => f.severity === 'error').map((f) => f.code) },
    });
    return toPublicationView(publication);
  }
}
