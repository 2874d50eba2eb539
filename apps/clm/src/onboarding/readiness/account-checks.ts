import type { PrismaService } from '@app/db';
import type { SpcTokenProbe } from '../../monitoring/spc-token-probe.js';
import { REFUSED_RECHECK_MS, TOKEN_REFUSAL_NEXT_STEP } from '../../procurement/token-refusal.js';
import { failing, missing, ok, type ReadinessItem, withinDeadline } from './readiness-item.js';

/** A token request plus its verification (x5u fetch) takes about a second; past this it counts as failing. */
export const SPC_TOKEN_DEADLINE_MS = 15_000;
/** Procurement reuses a stored token only while it has this long left (spc-tokens.ts). */
const MIN_REMAINING_MS = 10 * 60_000;

export interface OcnRef {
  readonly providerId: string;
  readonly ocnId: string;
  readonly ocn: string;
}

/** The OCN's open refusal episode (Ocn.tokenRefusedAt: the STI-PA's latest refusal). */
export interface OcnTokenRefusal {
  readonly at: Date;
  readonly code: string | null;
  readonly reason: string | null;
}

const requestHint = (ref: OcnRef) => `clm certs request --provider ${ref.providerId} --ocn ${ref.ocn} --ca <STI-CA id from GET /api/v1/sti-cas>`;

/**
 * The ACME account at the STI-CA this OCN orders from (the STI-CA of its latest certificate, else
 * any of the provider's). It is created by the first order (RFC 8555 §7.3), so "missing" until then.
 */
export async function checkStiCaAccount(prisma: PrismaService, ref: OcnRef): Promise<ReadinessItem> {
  if ((await prisma.stiCa.count()) === 0) {
    return missing('no STI-CA is registered', 'POST /api/v1/sti-cas {"name","directoryUrl","eab"?} with the STI-CA\'s ACME directory and EAB credentials');
  }
  const latest = await prisma.certificate.findFirst({ where: { ocnId: ref.ocnId }, orderBy: { createdAt: 'desc' }, select: { stiCaId: true } });
  const accounts = await prisma.acmeAccount.findMany({ where: { providerId: ref.providerId }, include: { stiCa: { select: { name: true } } }, orderBy: { createdAt: 'asc' } });
  const account = accounts.find((a) => a.stiCaId === latest?.stiCaId) ?? accounts.find((a) => a.status === 'valid') ?? accounts[0];
  if (!account) return missing('the provider has no ACME account at an STI-CA yet; it is created with the first order', requestHint(ref));
  const at = `ACME account at ${account.stiCa.name}`;
  if (account.status === 'valid' && account.accountUrl) return ok(`${at}: ${account.accountUrl}`);
  if (account.status === 'pending') return missing(`${at} is being created by an order`, `wait for the order: clm certs list --ocn ${ref.ocn}`);
  return failing(`${at} is ${account.status}: the STI-CA no longer accepts it`, `ask ${account.stiCa.name} why the account was ${account.status}; then request a certificate again`);
}

/**
 * Can an SPC token be had for this OCN (STIR-SHAKEN.md §3)? A stored verified token with time
 * left counts; otherwise the STI-PA is asked exactly as an order would (SpcTokenProbe, which
 * keeps the token for the next order and flags a refusal). When the STI-PA login itself fails
 * the STI-PA is not asked again: repeated bad logins can lock an API user. An OCN flagged as
 * refused is not answered from a stored token: the refusal says the next token (the next
 * renewal) will not come, so it stays failing until the STI-PA grants one again. Its last refusal
 * is shown as is while it is recent (REFUSED_RECHECK_MS, the daily recheck's period): readiness
 * is read on every page load and the STI-PA is rate-sensitive; past that the STI-PA is asked afresh.
 */
export async function checkSpcToken(prisma: PrismaService, probe: SpcTokenProbe, ref: OcnRef, login: ReadinessItem, now: Date, refusal: OcnTokenRefusal | null): Promise<ReadinessItem> {
  if (login.status === 'missing') return missing('SPC tokens come from the STI-PA API user, which is not configured', login.nextStep ?? '');
  if (login.status === 'failing') {
    const stored = await storedToken(prisma, ref, now);
    if (refusal) return failing(`the STI-PA refused a token at ${refusal.at.toISOString()} and cannot be asked again while its login fails`, login.nextStep ?? '');
    if (stored) return ok(`a verified token is stored until ${stored.expiresAt.toISOString()} (a new one cannot be had while the STI-PA login fails)`);
    return failing('no stored token, and none can be requested while the STI-PA login fails (see stiPaAccount)', login.nextStep ?? '');
  }
  if (refusal && now.getTime() - refusal.at.getTime() < REFUSED_RECHECK_MS) {
    const askedAgainFrom = new Date(refusal.at.getTime() + REFUSED_RECHECK_MS).toISOString();
    const why = [refusal.code, refusal.reason].filter(Boolean).join(': ');
    return failing(`the STI-PA refused a token at ${refusal.at.toISOString()}${why ? `: ${why}` : ''} (asked again from ${askedAgainFrom})`, TOKEN_REFUSAL_NEXT_STEP);
  }
  const result = await withinDeadline(probe.probe(ref.providerId, ref.ocn, { reuseStored: refusal === null }), SPC_TOKEN_DEADLINE_MS, () => ({
    status: 'failing' as const, code: 'STI_PA.TIMEOUT', refused: false,
    reason: `the STI-PA did not grant (or refuse) a token within ${SPC_TOKEN_DEADLINE_MS / 1000} s`,
    nextStep: 'check the STI-PA status, then ask again',
  }));
  switch (result.status) {
    case 'ok':
      return ok(result.reused ? `a verified token is stored until ${result.expiresAt.toISOString()}` : `the STI-PA granted a verified token, valid until ${result.expiresAt.toISOString()}`);
    case 'missing':
      return missing(result.reason, result.nextStep);
    case 'failing':
      return failing(`${result.refused ? 'the STI-PA refused a token' : 'no token'}: ${result.code}: ${result.reason}`, result.nextStep);
  }
}

async function storedToken(prisma: PrismaService, ref: OcnRef, now: Date) {
  return prisma.spcToken.findFirst({
    where: { ocnId: ref.ocnId, providerId: ref.providerId, status: 'valid', ca: false, expiresAt: { gt: new Date(now.getTime() + MIN_REMAINING_MS) } },
    orderBy: { expiresAt: 'desc' },
    select: { expiresAt: true },
  });
}
