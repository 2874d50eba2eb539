import type { KeyObject } from 'node:crypto';
import { Inject, Injectable, type OnApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import { PrismaService } from '@app/db';
import { isKeystoreError, type Keystore } from '@app/keystore';
import { KEYSTORE } from '../config/config.module.js';
import { privateKeyAad } from '../common/sealed-secrets.js';
import { type ActiveCredential, type HandOffSnapshot, loadHandOffSnapshot } from './hand-off-snapshot.js';
import { signerErrors } from './signer-errors.js';

/**
 * While the change listener is down, a notification may be missed: the view is then trusted for
 * at most this long before a request reloads it (and refuses with 503 if it cannot).
 */
export const DEGRADED_MAX_AGE_MS = 1_000;

/**
 * One replica's in-memory view of the hand-off (active credential per OCN, signer credentials and
 * scopes), so that a steady-state pull or 304 reads no database. It is kept current by
 * HandOffChangeListener: a NOTIFY from the triggers of migration signer_hand_off_notify makes it
 * reload the whole view; a (re)connected listener reloads it too, because notifications sent while
 * it was away are lost. When the listener is down, the view is reloaded on demand instead
 * (DEGRADED_MAX_AGE_MS), so a disabled signer or a superseded key is never served from a view
 * that may have missed the change for longer than that.
 *
 * Opened keys. A pull hands out the key and a PASSporT is signed with it, so the key is opened
 * (AES-256-GCM under the KEK) on first use and the resulting KeyObject kept while its certificate
 * stays active; it is dropped when the view no longer references it. Why keep it: opening per
 * request costs more than the rest of the request, and a process that can read this KeyObject can
 * read the KEK it holds anyway, so a cache adds no exposure an attacker with our memory lacks.
 * The KeyObject lives in native memory, never printed or serialised (inspecting it shows no key).
 * Keys are not opened for OCNs nobody asks for, and the PEM/JWK text is made per response, never
 * cached.
 */
@Injectable()
export class HandOffState implements OnModuleDestroy, OnApplicationShutdown {
  private snapshot: HandOffSnapshot | undefined;
  private live = false;
  private closed = false;
  private pending: Promise<void> | undefined;
  private running: Promise<void> | undefined;
  private readonly openedKeys = new Map<string, { sealed: Uint8Array; key: KeyObject }>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private reloads = 0;

  constructor(
    private readonly prisma: PrismaService,
    @Inject(KEYSTORE) private readonly keystore: Keystore,
  ) {}

  /** The current view; reloaded first when it may be stale (listener down). */
  async view(): Promise<HandOffSnapshot> {
    const snapshot = this.snapshot;
    if (snapshot && (this.live || performance.now() - snapshot.loadedAt < DEGRADED_MAX_AGE_MS)) return snapshot;
    try {
      await this.reload();
    } catch {
      throw signerErrors.handOffUnavailable();
    }
    return this.snapshot as HandOffSnapshot;
  }

  /** Set by the change listener: true while notifications are known to arrive. */
  setLive(live: boolean): void {
    this.live = live;
  }

  get isLive(): boolean {
    return this.live;
  }

  /** True once the service began shutting down: long-polls are not parked any more. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** How many times the view was loaded (for tests and the bench). */
  get reloadCount(): number {
    return this.reloads;
  }

  /**
   * Reloads the whole view. The promise settles after a load that *began after this call*, so a
   * caller that just committed a change (or received its notification) sees it afterwards.
   * Concurrent callers share one load.
   */
  reload(): Promise<void> {
    this.pending ??= (async () => {
      // Always yields first, so `pending` is assigned before it is cleared below.
      await this.running?.catch(() => undefined);
      this.pending = undefined;
      const run = this.loadOnce();
      this.running = run;
      try {
        await run;
      } finally {
        if (this.running === run) this.running = undefined;
      }
    })();
    return this.pending;
  }

  /**
   * Resolves when the answer for `ocn` may have changed from the one tagged `answerTag` (a
   * reload replaced it), after `timeoutMs`, when `signal` aborts, or when the service stops.
   */
  waitForChange(ocn: string, answerTag: string | undefined, timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (this.closed || signal.aborted || this.snapshot?.credentials.get(ocn)?.answerTag !== answerTag) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let set = this.waiters.get(ocn);
      if (!set) this.waiters.set(ocn, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        const current = this.waiters.get(ocn);
        current?.delete(done);
        if (current?.size === 0) this.waiters.delete(ocn);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal.addEventListener('abort', done, { once: true });
      set.add(done);
    });
  }

  /** The active key as a KeyObject, opened on first use (see the class comment). */
  privateKey(credential: ActiveCredential): KeyObject {
    const { key } = credential;
    if (key.custody !== 'software' || key.sealed === null) throw signerErrors.keyNotExportable(credential.ocn);
    const cached = this.openedKeys.get(key.id);
    if (cached && cached.sealed === key.sealed) return cached.key;
    let opened: KeyObject;
    try {
      opened = this.keystore.openPrivateKey(key.sealed, privateKeyAad(key.id));
    } catch (error) {
      if (isKeystoreError(error)) throw signerErrors.keyUnavailable(credential.ocn, error.code);
      throw error;
    }
    this.openedKeys.set(key.id, { sealed: key.sealed, key: opened });
    return opened;
  }

  /**
   * Shutdown begins with the module-destroy hooks, before Fastify waits for in-flight requests:
   * the change listener stops listening here, so the view is no longer known to be current and
   * parked long-polls are ended now (they would otherwise hold the close up, and end with an
   * answer from a view that no longer hears of changes). Signers re-poll another replica.
   */
  onModuleDestroy(): void {
    this.closed = true;
    this.live = false;
    for (const set of [...this.waiters.values()]) for (const wake of [...set]) wake();
  }

  onApplicationShutdown(): void {
    this.onModuleDestroy();
  }

  private async loadOnce(): Promise<void> {
    const next = await loadHandOffSnapshot(this.prisma);
    const previous = this.snapshot;
    this.carryOverOpenedKeys(next);
    this.snapshot = next;
    this.reloads += 1;
    if (!previous) return;
    for (const ocn of [...this.waiters.keys()]) {
      if (previous.credentials.get(ocn)?.answerTag !== next.credentials.get(ocn)?.answerTag) {
        for (const wake of [...(this.waiters.get(ocn) ?? [])]) wake();
      }
    }
  }

  /**
   * Keeps an opened key while the new view holds the very same sealed blob for it; a resealed
   * (rewrapped) or destroyed key is opened again or not at all.
   */
  private carryOverOpenedKeys(next: HandOffSnapshot): void {
    const keep = new Set<string>();
    for (const credential of next.credentials.values()) {
      const cached = this.openedKeys.get(credential.key.id);
      const sealed = credential.key.sealed;
      if (!cached || sealed === null || !Buffer.from(cached.sealed).equals(Buffer.from(sealed))) continue;
      // The new snapshot's blob is an equal copy: point the cache at it so identity checks hold.
      this.openedKeys.set(credential.key.id, { sealed, key: cached.key });
      keep.add(credential.key.id);
    }
    for (const id of [...this.openedKeys.keys()]) if (!keep.has(id)) this.openedKeys.delete(id);
  }
}
