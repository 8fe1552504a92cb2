import { EventEmitter } from 'node:events';
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Pool, PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { databaseErrorSummary } from '../common/database/database-unavailable';
import { DatabaseConfig, databaseConfig } from '../config/database.config';

const RECONNECT_DELAY_MS = 1000;
/** notifySoon sends one NOTIFY per channel at most this often. */
const NOTIFY_COALESCE_MS = 50;

/**
 * PostgreSQL LISTEN on one connection of the pool, held for the process's life, so that the queue
 * workers wake at the commit that fed them instead of polling. On PGlite (a single connection) there
 * is nothing to listen on: the workers' polling interval does the job.
 */
@Injectable()
export class PgNotifications implements OnModuleDestroy {
  private readonly logger = new Logger(PgNotifications.name);
  private readonly emitter = new EventEmitter();
  private readonly channels = new Set<string>();
  private client?: PoolClient;
  private connecting?: Promise<void>;
  private closed = false;
  /** Set while the LISTEN connection is lost: the loss is logged once, and its end. */
  private lostSince?: number;
  /** notifySoon's state per channel: when the last NOTIFY went, and whether one waits for its turn. */
  private readonly outgoing = new Map<string, { sentAt: number; pending: boolean }>();

  constructor(
    private readonly dataSource: DataSource,
    @Inject(databaseConfig.KEY) private readonly db: DatabaseConfig,
  ) {}

  /** Calls `listener` after every commit that notified `channel` (and after a reconnection). */
  async listen(channel: string, listener: () => void): Promise<void> {
    this.emitter.on(channel, listener);
    if (this.db.driver !== 'postgres' || this.channels.has(channel)) return;
    this.channels.add(channel);
    await this.connect();
    await this.client?.query(`LISTEN ${channel}`).catch(() => undefined);
  }

  /**
   * NOTIFY `channel` after the caller's commit, coalesced: at most one NOTIFY per channel every
   * NOTIFY_COALESCE_MS (the first at once, the ones that follow within that time as one). For the
   * hottest commit (the refresh rotation), instead of pg_notify in its transaction: a NOTIFY at commit
   * takes a database-wide lock that serializes every notifying commit including its WAL flush, which
   * forbids group commit. A NOTIFY lost with the process is found by the listeners' polling interval.
   */
  notifySoon(channel: string): void {
    if (this.db.driver !== 'postgres' || this.closed) return;
    let state = this.outgoing.get(channel);
    if (!state) this.outgoing.set(channel, (state = { sentAt: -Infinity, pending: false }));
    if (state.pending) return;
    const delay = state.sentAt + NOTIFY_COALESCE_MS - Date.now();
    state.pending = true;
    const send = () => {
      state.pending = false;
      state.sentAt = Date.now();
      if (this.closed) return;
      ((this.dataSource.driver as PostgresDriver).master as Pool).query('SELECT pg_notify($1, $2)', [channel, '']).catch((error: unknown) => {
        this.logger.debug({ error: databaseErrorSummary(error) }, `NOTIFY ${channel} failed; its listeners poll`);
      });
    };
    if (delay <= 0) send();
    else setTimeout(send, delay).unref();
  }

  /** Before TypeORM ends the pool at application shutdown, which would wait for this connection. */
  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    await this.connecting;
    this.client?.release(true);
    this.client = undefined;
  }

  private connect(): Promise<void> {
    if (this.client || this.closed) return Promise.resolve();
    this.connecting ??= this.open().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async open(): Promise<void> {
    try {
      const client = await ((this.dataSource.driver as PostgresDriver).master as Pool).connect();
      client.on('notification', ({ channel }) => this.emitter.emit(channel));
      client.on('error', (error) => this.lost(client, error));
      for (const channel of this.channels) await client.query(`LISTEN ${channel}`);
      this.client = client;
      if (this.lostSince !== undefined) this.logger.log(`LISTEN connection restored after ${Date.now() - this.lostSince} ms`);
      this.lostSince = undefined;
      // Anything committed while no one listened is found by this wake-up.
      for (const channel of this.channels) this.emitter.emit(channel);
    } catch (error) {
      this.retryLater(error);
    }
  }

  private lost(client: PoolClient, error: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.release(true);
    this.retryLater(error);
  }

  private retryLater(error: unknown): void {
    if (this.closed) return;
    if (this.lostSince === undefined) this.logger.warn({ error: databaseErrorSummary(error) }, `LISTEN connection lost; reconnecting every ${RECONNECT_DELAY_MS} ms`);
    this.lostSince ??= Date.now();
    setTimeout(() => void this.connect(), RECONNECT_DELAY_MS).unref();
  }
}
