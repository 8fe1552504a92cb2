import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { ClientProxy } from '@nestjs/microservices';
import { JSONCodec, JetStreamClient, JetStreamManager, NatsConnection, StorageType, StreamInfo, headers as natsHeaders, nanos } from 'nats';
import { DataSource, EntityManager } from 'typeorm';
import { eventsConfig } from '../config/events.config';
import { PollingWorker } from '../common/polling-worker';
import { PgNotifications } from '../database/pg-notifications';
import { queryPreparedIn } from '../database/prepared';
import { inPublishSpan } from '../tracing/trace-context';
import { OutboxEvent } from './entities/outbox-event.entity';
import { OUTBOX_CHANNEL, eventPayload } from './events.service';
import { NATS_CLIENT, natsFailure } from './nats-client';
import { retryDelayMs } from '../common/retry-delay';

const BATCH_SIZE = 256;
const PUBLISH_TIMEOUT_MS = 5000;
const RETRY_BASE_MS = 500;
const RETRY_MAX_MS = 30_000;
/** JetStream drops a message whose Nats-Msg-Id it saw within this window: a re-sent event arrives once. */
const DUPLICATE_WINDOW_MS = 10 * 60_000;

const json = JSONCodec();

/**
 * Publishes the outbox to JetStream. A row is marked sent only once JetStream acknowledged it (a
 * bare `emit()` of the Nest client is fire-and-forget). Each user's events go out one at a time in
 * `seq` order, and a user's later events wait while an earlier one waits for a retry. Relays in
 * several replicas share the work: rows are claimed with FOR UPDATE SKIP LOCKED, and a row is taken
 * only when no earlier unsent row of its user is held elsewhere. The event id is the Nats-Msg-Id,
 * so a row published again after a crash is dropped by JetStream as a duplicate.
 */
@Injectable()
export class EventsRelay implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(EventsRelay.name);
  /** Polls every USERS_ES_RELAY_POLL_INTERVAL: the latency when no NOTIFY can wake it, and the pause after a failed run. */
  private readonly worker: PollingWorker;
  private jetstream?: JetStreamClient;
  /** Set while NATS cannot be reached, so that an outage is logged once, not every second. */
  private unreachableSince?: number;
  private lastAttemptAt = 0;
  /**
   * Test seam, never set in production: awaited between claiming a batch and publishing it, in the
   * claiming transaction, so that a test can hold one relay there while another claims.
   */
  afterClaimForTests?: (batch: readonly OutboxEvent[]) => Promise<void>;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(NATS_CLIENT) private readonly client: ClientProxy,
    private readonly notifications: PgNotifications,
    @Inject(eventsConfig.KEY) private readonly events: ConfigType<typeof eventsConfig>,
  ) {
    this.worker = new PollingWorker(EventsRelay.name, events.pollIntervalMs, () => this.publishBatch(), this.logger);
  }

  get enabled(): boolean {
    return this.events.servers !== undefined;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.enabled) {
      this.logger.warn('USERS_ES_URL is empty: domain events are kept in the outbox and not published');
      return;
    }
    await this.notifications.listen(OUTBOX_CHANNEL, () => this.worker.wake());
    this.worker.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.worker.stop();
    if (this.enabled) await this.client.close();
  }

  /** Round trip to the NATS server (readiness); throws when it does not answer. */
  async ping(): Promise<void> {
    const connection = this.client.unwrap<NatsConnection>();
    await connection.rtt();
  }

  /** The connection, and the stream (created when missing), once; until then every run tries again. */
  private async connect(): Promise<JetStreamClient | undefined> {
    if (this.jetstream) return this.jetstream;
    // Commits wake the relay; while NATS is unreachable that must not mean a connection attempt each.
    if (this.unreachableSince !== undefined && Date.now() - this.lastAttemptAt < this.events.pollIntervalMs) return undefined;
    this.lastAttemptAt = Date.now();
    let connection: NatsConnection;
    try {
      connection = (await this.client.connect()) as NatsConnection;
    } catch (error) {
      if (this.unreachableSince === undefined) this.logger.warn({ err: error }, natsFailure(error, 'events wait in the outbox until NATS takes them'));
      this.unreachableSince ??= Date.now();
      return undefined;
    }
    if (this.unreachableSince !== undefined) this.logger.log(`NATS reachable again after ${Date.now() - this.unreachableSince} ms`);
    this.unreachableSince = undefined;
    await this.ensureStream(await connection.jetstreamManager());
    this.jetstream = connection.jetstream();
    return this.jetstream;
  }

  /**
   * Creates the stream when missing, or brings an existing one to the configured limits and replica
   * count. What NATS does not do is logged with its reason, and the stream is kept as it is (publishing
   * still works): a replica count a cluster refuses (more than its nodes), and any replicas on a single
   * server (it takes the setting and keeps one copy).
   */
  private async ensureStream(manager: JetStreamManager): Promise<void> {
    const { stream, replicas } = this.events;
    const existing = await manager.streams.info(stream).catch(() => undefined);
    const info = existing ? await this.reconcileStream(manager, existing) : await this.createStream(manager);
    if (info && replicas > 1 && !info.cluster) {
      this.logger.warn({ stream, replicas }, `USERS_ES_REPLICAS=${replicas}, but NATS is a single server, not a JetStream cluster: the stream ${stream} has one copy`);
    }
  }

  private async createStream(manager: JetStreamManager): Promise<StreamInfo> {
    const { stream, replicas } = this.events;
    const subject = `${this.events.subjectPrefix}.>`;
    const duplicateWindow = nanos(Math.min(DUPLICATE_WINDOW_MS, this.events.maxAgeMs));
    const info = await manager.streams
      .add({ name: stream, subjects: [subject], storage: StorageType.File, duplicate_window: duplicateWindow, num_replicas: replicas, ...this.limits() })
      .catch((error: Error) => {
        throw new Error(`NATS refused to create the JetStream stream ${stream} with USERS_ES_REPLICAS=${replicas}: ${error.message}`, { cause: error });
      });
    this.logger.log({ stream, subject, replicas, max_age_ms: this.events.maxAgeMs, max_bytes: info.config.max_bytes }, 'created the JetStream stream');
    return info;
  }

  /** The stream's limits and replicas made the configured ones; undefined when it is not ours to change. */
  private async reconcileStream(manager: JetStreamManager, existing: StreamInfo): Promise<StreamInfo | undefined> {
    const { stream, replicas } = this.events;
    const subject = `${this.events.subjectPrefix}.>`;
    if (!existing.config.subjects?.includes(subject)) {
      // Someone else's stream of that name: publishing would fail until they agree, so say why.
      this.logger.error(`the JetStream stream ${stream} does not take ${subject} (it has ${existing.config.subjects?.join(', ')}): set USERS_ES_STREAM or USERS_ES_SUBJECT_PREFIX`);
      return undefined;
    }
    const limits = this.limits();
    const limitsDiffer = existing.config.max_age !== limits.max_age || existing.config.max_bytes !== limits.max_bytes;
    const wanted = { ...existing.config, ...limits, duplicate_window: Math.min(existing.config.duplicate_window, limits.max_age) };
    // A single server would take any count and keep one copy: ensureStream says so instead.
    if (existing.config.num_replicas !== replicas && existing.cluster) {
      try {
        const info = await manager.streams.update(stream, { ...wanted, num_replicas: replicas });
        this.logger.log({ stream, replicas, was: existing.config.num_replicas }, 'changed the JetStream stream replicas');
        return info;
      } catch (error) {
        this.logger.warn(
          { stream, replicas: existing.config.num_replicas, wanted: replicas, err: error },
          `the JetStream stream ${stream} keeps ${existing.config.num_replicas} replica(s): NATS refused USERS_ES_REPLICAS=${replicas} (${(error as Error).message})`,
        );
      }
    }
    if (!limitsDiffer) return existing;
    const info = await manager.streams.update(stream, { ...wanted, num_replicas: existing.config.num_replicas });
    this.logger.log({ stream, max_age_ms: this.events.maxAgeMs, max_bytes: limits.max_bytes }, 'updated the JetStream stream limits');
    return info;
  }

  /** Events carry personal data: the stream keeps them USERS_ES_MAX_AGE at most (and USERS_ES_MAX_BYTES in all). */
  private limits() {
    return { max_age: nanos(this.events.maxAgeMs), max_bytes: this.events.maxBytes || -1 };
  }

  /** Publishes one batch; true when the batch was full (more may be waiting). */
  private async publishBatch(): Promise<boolean> {
    const jetstream = await this.connect();
    if (!jetstream) return false;
    return this.dataSource.transaction(async (manager) => {
      const batch = await this.claim(manager);
      await this.afterClaimForTests?.(batch);
      const byUser = new Map<string, OutboxEvent[]>();
      for (const event of batch) byUser.set(event.userId, [...(byUser.get(event.userId) ?? []), event]);
      const sent: string[] = [];
      const failed: { event: OutboxEvent; error: unknown }[] = [];
      await Promise.all([...byUser.values()].map((events) => this.publishInOrder(jetstream, events, sent, failed)));
      // One statement at a time on the transaction's connection (pg refuses overlapping queries on a client).
      for (const { event, error } of failed) await this.putBack(manager, event, error);
      if (sent.length > 0) {
        await queryPreparedIn(manager, 'outbox_mark_sent', `UPDATE outbox_events SET sent_at = clock_timestamp(), attempts = attempts + 1 WHERE seq = ANY($1)`, [sent]);
      }
      return batch.length === BATCH_SIZE;
    });
  }

  /**
   * The oldest unsent rows that no other relay holds and that no earlier unsent row of their user
   * precedes. Prepared, as the marking that follows: parsing and planning it cost PostgreSQL 0.5–1 ms
   * per batch (45 µs to run), and at a login's pace a batch holds an event or two.
   */
  private async claim(manager: EntityManager): Promise<OutboxEvent[]> {
    const rows = await queryPreparedIn<Record<string, unknown>>(
      manager,
      'outbox_claim',
      `WITH candidates AS (
         SELECT seq, user_id FROM outbox_events
         WHERE sent_at IS NULL AND available_at <= now()
         ORDER BY seq LIMIT ${BATCH_SIZE}
         FOR UPDATE SKIP LOCKED
       )
       SELECT e.seq, e.id, e.user_id, e.operation, e.actor_id, e.request_id, e.data, e.created_at, e.attempts, e.trace_context
       FROM outbox_events e JOIN candidates c USING (seq)
       WHERE NOT EXISTS (
         SELECT 1 FROM outbox_events earlier
         WHERE earlier.user_id = c.user_id AND earlier.sent_at IS NULL AND earlier.seq < c.seq
           AND earlier.seq NOT IN (SELECT seq FROM candidates)
       )
       ORDER BY e.seq`,
      [],
    );
    return rows.map((row) =>
      Object.assign(new OutboxEvent(), {
        seq: row.seq,
        id: row.id,
        userId: row.user_id,
        operation: row.operation,
        actorId: row.actor_id,
        requestId: row.request_id,
        data: row.data,
        createdAt: row.created_at,
        attempts: row.attempts,
        traceContext: row.trace_context,
      }),
    );
  }

  /** One user's events, one after the other; the first failure (to be put back for a retry) stops the rest. */
  private async publishInOrder(jetstream: JetStreamClient, events: OutboxEvent[], sent: string[], failed: { event: OutboxEvent; error: unknown }[]): Promise<void> {
    for (const event of events) {
      try {
        const subject = `${this.events.subjectPrefix}.${event.operation}`;
        const headers = natsHeaders();
        await inPublishSpan(subject, event.id, event.traceContext, headers, () =>
          jetstream.publish(subject, json.encode(eventPayload(event)), { msgID: event.id, headers, timeout: PUBLISH_TIMEOUT_MS, expect: { streamName: this.events.stream } }),
        );
        sent.push(event.seq);
      } catch (error) {
        failed.push({ event, error });
        return;
      }
    }
  }

  /** An event that was not published, back in the outbox for a retry after a growing delay. */
  private async putBack(manager: EntityManager, event: OutboxEvent, error: unknown): Promise<void> {
    const delayMs = retryDelayMs(event.attempts, RETRY_BASE_MS, RETRY_MAX_MS);
    await manager.query(
      `UPDATE outbox_events SET attempts = attempts + 1, available_at = now() + $2 * interval '1 millisecond', last_error = $3 WHERE seq = $1`,
      [event.seq, delayMs, String((error as Error).message ?? error).slice(0, 1000)],
    );
    this.logger.warn({ eventId: event.id, operation: event.operation, attempt: event.attempts + 1, retryInMs: delayMs, err: error }, 'event not published; will retry');
  }
}
