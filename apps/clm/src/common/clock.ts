import { Injectable } from '@nestjs/common';

/**
 * Time as the service sees it (ARCHITECTURE.md habit 1): renewal, backoff and expiry decisions
 * read this, never Date.now(), so tests can move time forward through several renewals.
 */
export abstract class Clock {
  abstract now(): Date;
}

@Injectable()
export class SystemClock extends Clock {
  now(): Date {
    return new Date();
  }
}

/** A clock tests set and advance by hand. */
export class ManualClock extends Clock {
  constructor(private current: Date) {
    super();
  }
  now(): Date {
    return new Date(this.current);
  }
  set(at: Date): void {
    this.current = new Date(at);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}
