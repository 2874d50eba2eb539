/**
 * How far the sandbox's clock is moved from real time (admin `POST /admin/clock`). Tests of the
 * certificate lifecycle move their service's clock months ahead to walk through renewals; with
 * the same offset here, certificates, SPC tokens, the CA list and the CRL are dated by the time
 * the service believes in, as a real STI-PA and STI-CA would date them at that moment.
 */
export class ClockOffset {
  private offsetMs = 0;

  get ms(): number {
    return this.offsetMs;
  }

  set(offsetMs: number): void {
    this.offsetMs = offsetMs;
  }

  /** `base` moved by the current offset. */
  apply(base: () => Date): () => Date {
    return () => new Date(base().getTime() + this.offsetMs);
  }
}
