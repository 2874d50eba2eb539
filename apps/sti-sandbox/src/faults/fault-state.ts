import { NO_FAULTS, scopeMatches, type FaultSettings } from './fault-settings.js';

/**
 * The faults in force right now. Listeners (the CRL and CA list publishers) are told when the
 * switches change, so that a "revoked CA" shows up in the next download at once.
 */
export class FaultState {
  private current: FaultSettings;
  private readonly listeners: ((settings: Readonly<FaultSettings>) => void)[] = [];

  constructor(
    initial: FaultSettings = { ...NO_FAULTS },
    private readonly random: () => number = Math.random,
  ) {
    this.current = { ...initial };
  }

  get settings(): Readonly<FaultSettings> {
    return this.current;
  }

  set(update: Partial<FaultSettings>): Readonly<FaultSettings> {
    this.current = { ...this.current, ...update };
    for (const listener of this.listeners) listener(this.current);
    return this.current;
  }

  reset(): Readonly<FaultSettings> {
    return this.set({ ...NO_FAULTS });
  }

  onChange(listener: (settings: Readonly<FaultSettings>) => void): void {
    this.listeners.push(listener);
  }

  /** Draws whether this ACME request gets a spurious `badNonce`. */
  rollBadNonce(): boolean {
    return this.current.badNonceRate > 0 && this.random() < this.current.badNonceRate;
  }

  /** Draws whether this request in `area` gets a 5xx. */
  rollServerError(area: 'sti-pa' | 'acme'): boolean {
    return this.current.serverErrorRate > 0 && scopeMatches(this.current.serverErrorScope, area) && this.random() < this.current.serverErrorRate;
  }

  /** Whether this tkauth-01 validation is refused (refuseChallenges); uses one refusal up. */
  takeChallengeRefusal(): boolean {
    if (this.current.refuseChallenges <= 0) return false;
    this.current = { ...this.current, refuseChallenges: this.current.refuseChallenges - 1 };
    return true;
  }

  delayFor(area: 'sti-pa' | 'acme'): number {
    return scopeMatches(this.current.delayScope, area) ? this.current.delayMs : 0;
  }
}
