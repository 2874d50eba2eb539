/**
 * One line of the readiness checklist (issue 5): `ok`, `missing` (not set up yet) or `failing`
 * (set up, but it does not work now), with the reason and what to do next.
 */
export const READINESS_STATUSES = ['ok', 'missing', 'failing'] as const;
export type ReadinessStatus = (typeof READINESS_STATUSES)[number];

export interface ReadinessItem {
  readonly status: ReadinessStatus;
  readonly reason: string;
  /** What the operator does next; null when the item is ok. */
  readonly nextStep: string | null;
}

export const ok = (reason: string): ReadinessItem => ({ status: 'ok', reason, nextStep: null });
export const missing = (reason: string, nextStep: string): ReadinessItem => ({ status: 'missing', reason, nextStep });
export const failing = (reason: string, nextStep: string): ReadinessItem => ({ status: 'failing', reason, nextStep });

/** Items checked once per provider and repeated in each OCN's checklist. */
export const PROVIDER_ITEMS = ['frn', 'filer499', 'rmd', 'stiPaAccount', 'signing'] as const;
/** Items that differ per OCN. */
export const OCN_ONLY_ITEMS = ['stiCaAccount', 'spcToken', 'activeCertificate', 'publishedUrl', 'signer'] as const;
/** An OCN's whole checklist, in the order an onboarding goes through it. */
export const OCN_ITEMS = [...PROVIDER_ITEMS, ...OCN_ONLY_ITEMS] as const;

export type ProviderItemName = (typeof PROVIDER_ITEMS)[number];
export type OcnItemName = (typeof OCN_ITEMS)[number];

export const allOk = (items: Readonly<Record<string, ReadinessItem>>): boolean => Object.values(items).every((item) => item.status === 'ok');

/**
 * Runs a check that talks to an authority with an upper bound on the time it may take: a
 * readiness request must answer even when the STI-PA hangs. On timeout `late()` is the item; the
 * work itself finishes (or times out in its client) in the background.
 */
export async function withinDeadline<T>(work: Promise<T>, ms: number, late: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(late()), ms);
    timer.unref();
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
