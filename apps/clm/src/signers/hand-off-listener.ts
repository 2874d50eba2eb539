import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import pg from 'pg';
import { DATABASE_URL } from '../config/config.module.js';
import { HandOffState } from './hand-off-state.js';

/** The channel the triggers of migration signer_hand_off_notify notify on. */
export const HAND_OFF_CHANNEL = 'clm_signer_handoff';
/** application_name of the listening session, so operators (and tests) can find it in pg_stat_activity. */
export const HAND_OFF_LISTENER_NAME = 'shaken-clm signer hand-off';

const RECONNECT_FIRST_MS = 100;
const RECONNECT_MAX_MS = 5_000;
/** A silently dead TCP session delivers no notifications and no error: ask it something this often. */
const HEARTBEAT_MS = 10_000;
const HEARTBEAT_TIMEOUT_MS = 5_000;
/** Boot waits this long for the first connection before serving from on-demand reloads. */
const BOOT_WAIT_MS = 5_000;

/**
 * Keeps the hand-off view current across replicas: a dedicated PostgreSQL session LISTENs on
 * HAND_OFF_CHANNEL and every notification reloads the view (HandOffState coalesces bursts). The
 * order on (re)connect is LISTEN, then reload, then "live": a change committed in between is
 * either in the reload or notified after it, never lost. While the session is down the view is
 * marked not live (requests then reload it on demand) and the session is reopened with capped
 * exponential backoff.
 */
@Injectable()
export class HandOffChangeListener implements OnModuleInit, OnModuleDestroy, OnApplicationShutdown {
  private readonly logger = new Logger('SignerHandOff');
  private client: pg.Client | undefined;
  private stopped = false;
  private retryMs = RECONNECT_FIRST_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;
  private readonly dropped = new WeakSet<pg.Client>();

  constructor(
    @Inject(DATABASE_URL) private readonly databaseUrl: string,
    private readonly state: HandOffState,
  ) {}

  async onModuleInit(): Promise<void> {
    const first = this.connect();
    await Promise.race([first, new Promise((resolve) => setTimeout(resolve, BOOT_WAIT_MS).unref())]);
  }

  /**
   * Stop reacting before the database client goes (PrismaService disconnects in its own
   * onModuleDestroy): a notification arriving during shutdown would otherwise reload through a
   * closed pool and report a lost listener that is only being stopped.
   */
  onModuleDestroy(): void {
    this.stopped = true;
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeat);
    this.state.setLive(false);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  /** The backend pid of the listening session (tests terminate it to prove reconnection). */
  get sessionPid(): number | undefined {
    return (this.client as (pg.Client & { processID?: number }) | undefined)?.processID;
  }

  private connect(): Promise<void> {
    this.connecting ??= this.openSession().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async openSession(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.databaseUrl, application_name: HAND_OFF_LISTENER_NAME, keepAlive: true });
    client.on('notification', (message) => {
      if (message.channel === HAND_OFF_CHANNEL) this.reload(`${message.payload ?? ''} changed`);
    });
    client.on('error', (error) => this.lost(client, error.message));
    client.on('end', () => this.lost(client, 'session ended'));
    try {
      await client.connect();
      await client.query(`LISTEN ${HAND_OFF_CHANNEL}`);
      if (this.stopped) {
        await client.end().catch(() => undefined);
        return;
      }
      this.client = client;
      await this.state.reload();
      this.state.setLive(true);
      this.retryMs = RECONNECT_FIRST_MS;
      this.startHeartbeat(client);
      this.logger.log({ msg: 'listening for hand-off changes', component: 'signers', channel: HAND_OFF_CHANNEL });
    } catch (error) {
      this.lost(client, error instanceof Error ? error.message : String(error));
    }
  }

  private reload(reason: string): void {
    if (this.stopped) return;
    this.state.reload().catch((error: unknown) => {
      if (this.stopped) return;
      // The session that notified may still be up while queries fail: stop trusting the view.
      this.logger.warn({ msg: 'hand-off view reload failed', component: 'signers', reason, error: error instanceof Error ? error.message : String(error) });
      if (this.client) this.lost(this.client, 'reload failed');
    });
  }

  private startHeartbeat(client: pg.Client): void {
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('heartbeat timed out')), HEARTBEAT_TIMEOUT_MS).unref());
      Promise.race([client.query('SELECT 1'), timeout]).catch((error: unknown) => this.lost(client, error instanceof Error ? error.message : String(error)));
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** The session is gone or unusable: stop trusting the view, drop the session, try again later. */
  private lost(client: pg.Client, reason: string): void {
    if (this.dropped.has(client)) return;
    this.dropped.add(client);
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    // An older session reporting late: the current one is unaffected.
    if (this.client !== undefined && this.client !== client) return;
    this.client = undefined;
    const wasLive = this.state.isLive;
    this.state.setLive(false);
    clearInterval(this.heartbeat);
    if (this.stopped) return;
    if (wasLive) this.logger.warn({ msg: 'hand-off change listener lost; serving from on-demand reloads until it is back', component: 'signers', reason });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.connect(), this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, RECONNECT_MAX_MS);
  }
}
