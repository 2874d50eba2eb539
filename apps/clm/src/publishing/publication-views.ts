import type { Publication } from '@app/db';

export interface PublicationFindingView {
  code: string;
  severity: string;
  message: string;
  citation: string;
}

/** A published chain as the admin API shows it. */
export interface PublicationView {
  id: string;
  certificateId: string;
  /** The x5u. */
  url: string;
  driver: string;
  storageKey: string;
  publishedAt: Date;
  /** The object stays in the store at least until then (notAfter + the verifier cache window). */
  removeAfter: Date;
  removedAt: Date | null;
  lastCheckAt: Date | null;
  /** null until checked; false when verifiers could not use the URL at the last check. */
  lastCheckOk: boolean | null;
  lastCheckFindings: PublicationFindingView[];
}

export function toPublicationView(row: Publication): PublicationView {
  return {
    id: row.id,
    certificateId: row.certificateId,
    url: row.url,
    driver: row.driver,
    storageKey: row.storageKey,
    publishedAt: row.publishedAt,
    removeAfter: row.removeAfter,
    removedAt: row.removedAt,
    lastCheckAt: row.lastCheckAt,
    lastCheckOk: row.lastCheckOk,
    lastCheckFindings: Array.isArray(row.lastCheckFindings) ? (row.lastCheckFindings as unknown as PublicationFindingView[]) : [],
  };
}
