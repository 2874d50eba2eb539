import type { INestApplication } from '@nestjs/common';
import { PrismaService } from '@app/db';
import { AuditService } from '../audit/audit.service.js';
import type { RuntimeContext } from '../config/config.module.js';
import { StiCasService } from '../onboarding/sti-cas.service.js';
import { SANDBOX_STI_CA_NAME } from './sandbox-demo.js';

export { SANDBOX_STI_CA_NAME };

/**
 * Embedded default: the local sandbox STI-CA is registered (once) so that a new user can
 * onboard a provider and request a certificate in minutes. Its STI-PA demo user is seeded by the
 * sandbox itself (README). If the sandbox moved port since the last start, the directory URL is
 * brought up to date.
 */
export async function registerEmbeddedSandbox(app: INestApplication, runtime: RuntimeContext): Promise<void> {
  const sandbox = runtime.embeddedSandbox;
  if (!sandbox) return;
  const prisma = app.get(PrismaService);
  const existing = await prisma.stiCa.findUnique({ where: { name: SANDBOX_STI_CA_NAME } });
  if (!existing) {
    await app.get(StiCasService).create(
      { name: SANDBOX_STI_CA_NAME, directoryUrl: sandbox.acmeDirectory, trustAnchors: sandbox.tlsRootPem },
      null,
    );
    return;
  }
  if (existing.directoryUrl !== sandbox.acmeDirectory || existing.trustAnchorsPem !== sandbox.tlsRootPem) {
    await prisma.transaction(async (tx) => {
      await tx.stiCa.update({
        where: { id: existing.id },
        data: { directoryUrl: sandbox.acmeDirectory, trustAnchorsPem: sandbox.tlsRootPem },
      });
      await app.get(AuditService).record({ type: 'system', component: 'embedded-sandbox' }, {
        action: 'sti_ca.updated', subjectType: 'sti_ca', subjectId: existing.id,
        details: { directoryUrl: sandbox.acmeDirectory, trustAnchorsChanged: existing.trustAnchorsPem !== sandbox.tlsRootPem },
      }, tx);
    });
  }
}
