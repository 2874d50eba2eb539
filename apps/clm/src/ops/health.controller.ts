import { Controller, Get, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { pendingMigrations, PrismaService } from '@app/db';
import { DomainError } from '../common/domain-error.js';
import { DATABASE_URL } from '../config/config.module.js';

@ApiTags('ops')
@Controller()
export class HealthController {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(DATABASE_URL) private readonly databaseUrl: string,
  ) {}

  /** Liveness: the process answers. Deliberately touches nothing else. */
  @Get('healthz')
  healthz() {
    return { status: 'ok' };
  }

  /**
   * Readiness: the database answers and every migration in this build is applied. Each probe is
   * bounded, so a black-holed database makes readiness fail fast instead of hanging the prober.
   */
  @Get('readyz')
  async readyz() {
    try {
      await withDeadline(this.prisma.$queryRaw`SELECT 1`, READY_DEADLINE_MS);
    } catch {
      throw new DomainError('READY.DATABASE_UNREACHABLE', 503, 'the database does not answer');
    }
    let pending: string[];
    try {
      pending = await withDeadline(pendingMigrations(this.databaseUrl), READY_DEADLINE_MS);
    } catch {
      throw new DomainError('READY.MIGRATIONS_UNKNOWN', 503, 'the migration state could not be read');
    }
    if (pending.length > 0) {
      throw new DomainError('READY.MIGRATIONS_PENDING', 503, `${pending.length} migration(s) not applied`, { pending });
    }
    return { status: 'ready' };
  }
}

const READY_DEADLINE_MS = 3_000;

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
