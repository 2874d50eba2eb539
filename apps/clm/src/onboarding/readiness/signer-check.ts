import type { PrismaService } from '@app/db';
import type { OcnRef } from './account-checks.js';
import { missing, ok, type ReadinessItem } from './readiness-item.js';

/** An enabled signer client scoped to the OCN: without one no SBC or STI-AS can get its key and x5u. */
export async function checkSigner(prisma: PrismaService, ref: OcnRef): Promise<ReadinessItem> {
  const scopes = await prisma.signerScope.findMany({ where: { ocnId: ref.ocnId }, include: { signer: true }, orderBy: { createdAt: 'asc' } });
  const enabled = scopes.map((s) => s.signer).filter((s) => s.disabledAt === null);
  if (enabled.length > 0) {
    const seen = (s: (typeof enabled)[number]) => (s.lastSeenAt ? `last seen ${s.lastSeenAt.toISOString()}` : 'not seen yet');
    return ok(enabled.map((s) => `signer "${s.name}" (${seen(s)})`).join(', '));
  }
  const disabled = scopes.length > 0 ? ` (${scopes.length} disabled)` : '';
  return missing(`no enabled signer client may pull OCN ${ref.ocn}${disabled}`, `clm signer create --name <SBC name> --ocn ${ref.ocn} (POST /api/v1/signers)`);
}
