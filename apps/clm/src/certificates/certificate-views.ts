import type { Certificate, CertificateEvent, CertificateOrder, Ocn, StiCa } from '@app/db';

const DAY_MS = 86_400_000;

/** The order behind a certificate, as operators need it: where it is and why it waits. */
export interface CertificateOrderView {
  id: string;
  kind: string;
  state: string;
  attempts: number;
  lastError: string | null;
  lastErrorCode: string | null;
  /** When the worker tries again (after a failure), or when it became due. */
  nextAttemptAt: Date;
  acmeOrderUrl: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface CertificateEventView {
  at: Date;
  type: string;
  details: unknown;
}

export interface CertificateView {
  id: string;
  providerId: string;
  ocn: string;
  stiCa: { id: string; name: string };
  /** The certificate's lifecycle state: requested, ordering, issued, checked, publishing, published, active, superseded, expired, revoked, failed. */
  state: string;
  order: CertificateOrderView | null;
  serial: string | null;
  fingerprintSha256: string | null;
  subject: string | null;
  notBefore: Date | null;
  notAfter: Date | null;
  /** Whole days until notAfter (negative once expired); null before issuance. */
  daysLeft: number | null;
  x5u: string | null;
  renewAt: Date | null;
  activatedAt: Date | null;
  supersededAt: Date | null;
  renewedFromId: string | null;
  validityDays: number | null;
  renewBeforeDays: number | null;
  keyRotation: string | null;
  createdAt: Date;
  events?: CertificateEventView[];
}

export type CertificateRow = Certificate & { ocn: Ocn; stiCa: StiCa; order: CertificateOrder | null; events?: CertificateEvent[] };

export function toCertificateView(row: CertificateRow, now: Date): CertificateView {
  return {
    id: row.id,
    providerId: row.providerId,
    ocn: row.ocn.code,
    stiCa: { id: row.stiCa.id, name: row.stiCa.name },
    state: row.status,
    order: row.order
      ? {
          id: row.order.id,
          kind: row.order.kind,
          state: row.order.state,
          attempts: row.order.attempts,
          lastError: row.order.lastError,
          lastErrorCode: row.order.lastErrorCode,
          nextAttemptAt: row.order.nextAttemptAt,
          acmeOrderUrl: row.order.acmeOrderUrl,
          createdAt: row.order.createdAt,
          updatedAt: row.order.updatedAt,
        }
      : null,
    serial: row.serial,
    fingerprintSha256: row.fingerprintSha256,
    subject: row.subject,
    notBefore: row.notBefore,
    notAfter: row.notAfter,
    daysLeft: row.notAfter ? Math.floor((row.notAfter.getTime() - now.getTime()) / DAY_MS) : null,
    x5u: row.x5u,
    renewAt: row.renewAt,
    activatedAt: row.activatedAt,
    supersededAt: row.supersededAt,
    renewedFromId: row.renewedFromId,
    validityDays: row.validityDays,
    renewBeforeDays: row.renewBeforeDays,
    keyRotation: row.keyRotation,
    createdAt: row.createdAt,
    ...(row.events ? { events: row.events.map((e) => ({ at: e.at, type: e.type, details: e.details })) } : {}),
  };
}
