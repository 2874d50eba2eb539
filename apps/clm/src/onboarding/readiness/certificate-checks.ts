import type { Certificate, PrismaService, Publication } from '@app/db';
import type { PublicationFindingView } from '../../publishing/publication-views.js';
import type { OcnRef } from './account-checks.js';
import { failing, missing, ok, type ReadinessItem } from './readiness-item.js';

type ActiveCertificate = Certificate & { publications: Publication[] };

/** The OCN's active certificate (what signers sign with), if any, with its live publications. */
export function findActiveCertificate(prisma: PrismaService, ocnId: string): Promise<ActiveCertificate | null> {
  return prisma.certificate.findFirst({
    where: { ocnId, status: 'active' },
    orderBy: { notAfter: 'desc' },
    include: { publications: { where: { removedAt: null }, orderBy: { publishedAt: 'desc' } } },
  });
}

/**
 * An active certificate within its validity. Without one: the latest order says whether it is
 * on its way (missing: wait) or stopped (failing: its error).
 */
export async function checkActiveCertificate(prisma: PrismaService, ref: OcnRef, active: ActiveCertificate | null, now: Date): Promise<ReadinessItem> {
  if (active?.notAfter) {
    if (active.notAfter <= now) return failing(`certificate ${active.id} (serial ${active.serial}) expired at ${active.notAfter.toISOString()} and no renewal became active`, `clm certs renew ${active.id}`);
    const days = Math.floor((active.notAfter.getTime() - now.getTime()) / 86_400_000);
    return ok(`certificate ${active.id}, serial ${active.serial}, valid until ${active.notAfter.toISOString()} (${days} days left)`);
  }
  const latest = await prisma.certificate.findFirst({ where: { ocnId: ref.ocnId }, orderBy: { createdAt: 'desc' }, include: { order: true } });
  if (!latest) return missing(`no certificate has been requested for OCN ${ref.ocn}`, `clm certs request --provider ${ref.providerId} --ocn ${ref.ocn} --ca <STI-CA id> (POST /api/v1/certificates)`);
  const order = latest.order;
  if (latest.status === 'failed' || order?.state === 'failed') {
    return failing(`the order of certificate ${latest.id} failed: ${order?.lastErrorCode ?? 'unknown'}: ${order?.lastError ?? ''}`.trimEnd(), `fix the cause, then request again: clm certs show ${latest.id}`);
  }
  if (order && order.state !== 'active') {
    const waiting = order.lastErrorCode ? `; last error ${order.lastErrorCode}, next attempt ${order.nextAttemptAt.toISOString()}` : '';
    return missing(`certificate ${latest.id} is being ordered (state ${order.state}, ${order.attempts} attempt(s)${waiting})`, `wait, or follow it: clm certs show ${latest.id}`);
  }
  return missing(`no active certificate (the latest, ${latest.id}, is ${latest.status})`, `clm certs request --provider ${ref.providerId} --ocn ${ref.ocn} --ca <STI-CA id>`);
}

/**
 * The active certificate's x5u as verifiers fetch it: the latest verifier check of its
 * publication (at publish time, by the daily probe or on demand) must have passed.
 */
export function checkPublishedUrl(active: ActiveCertificate | null): ReadinessItem {
  if (!active) return missing('no active certificate, so nothing is published for signers to reference', 'see activeCertificate');
  const publication = active.publications.find((p) => p.url === active.x5u) ?? active.publications[0];
  if (!publication) return failing(`active certificate ${active.id} has no live publication at an STI-CR`, `re-publish: clm certs renew ${active.id}`);
  const recheck = `re-check after fixing: POST /api/v1/publications/${publication.id}/check`;
  if (publication.lastCheckOk === null || !publication.lastCheckAt) return missing(`${publication.url} has not been checked as a verifier would`, recheck);
  const at = publication.lastCheckAt.toISOString();
  if (publication.lastCheckOk) return ok(`${publication.url} passed the verifier check at ${at}`);
  const findings = (Array.isArray(publication.lastCheckFindings) ? (publication.lastCheckFindings as unknown as PublicationFindingView[]) : [])
    .filter((f) => f.severity === 'error')
    .map((f) => `${f.code}: ${f.message}`);
  return failing(`${publication.url} failed the verifier check at ${at}${findings.length ? `: ${findings.join('; ')}` : ''}`, `fix the STI-CR (status, content type, caching, chain); ${recheck}`);
}
