import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FastifyInstance, FastifyReply } from 'fastify';
import { Pool } from 'pg';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DataSource } from 'typeorm';
import { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { answeredErrorCode } from '../common/filters/all-exceptions.filter';
import { Backlogs, BacklogsService } from './backlogs.service';
import type { OutcomeCounter } from './count-outcomes';

/** The result label of an operation that may fail: `success`, or the error code in lower case. */
export type Outcome = 'success' | Lowercase<string>;

/**
 * The service's Prometheus metrics, in a registry of this application (several apps in one process,
 * as in the tests, do not collide). Counters are fed where things happen; the database pool and the
 * backlogs are read at each scrape.
 */
@Injectable()
export class Metrics implements OnModuleInit {
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: 'users_http_request_duration_seconds',
    help: 'HTTP requests by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly logins = new Counter({
    name: 'users_logins_total',
    help: 'Logins (POST /users/tokens/issue) by result: success or the error code',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly refreshes = new Counter({
    name: 'users_token_refreshes_total',
    help: 'Refresh-token uses by result: success or the error code (refresh_token_reused: a spent token presented again, its session revoked)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly mails = new Counter({
    name: 'users_mails_total',
    help: 'Mail delivery attempts by kind and result: sent, failed (will be retried) or dropped (given up)',
    labelNames: ['kind', 'result'] as const,
    registers: [this.registry],
  });

  readonly rateLimited = new Counter({
    name: 'users_rate_limited_total',
    help: 'Requests refused with 429 RATE_LIMITED, by limit (token, refresh, signup, email, email-account)',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });

  readonly loginLockouts = new Counter({
    name: 'users_login_lockout_refusals_total',
    help: 'Login attempts refused unchecked because their account had too many failed logins (USERS_LOGIN_LOCKOUT)',
    registers: [this.registry],
  });

  readonly rateLimitStoreUp = new Gauge({
    name: 'users_rate_limit_store_up',
    help: 'Whether Redis (USERS_REDIS_URL), where the replicas count rate limits together, is connected (1) or not (0)',
    registers: [this.registry],
  });

  readonly rateLimitLocalDecisions = new Counter({
    name: 'users_rate_limit_local_decisions_total',
    help: "Rate-limit and lockout decisions taken in this replica's memory because Redis could not be reached, by limit",
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });

  /** Set by PasswordService: its queue's hashes running and waiting now. */
  hashingStats?: () => { running: number; waiting: number };

  private readonly hashing = new Gauge({
    name: 'users_password_hashing',
    help: 'argon2 password hashes by state: running (at most USERS_ARGON2_CONCURRENCY) or waiting (at most USERS_ARGON2_QUEUE_SIZE)',
    labelNames: ['state'] as const,
    registers: [this.registry],
    collect: () => {
      const stats = this.hashingStats?.();
      if (!stats) return;
      this.hashing.set({ state: 'running' }, stats.running);
      this.hashing.set({ state: 'waiting' }, stats.waiting);
    },
  });

  readonly webhooks = new Counter({
    name: 'users_webhooks_total',
    help: 'Webhook requests (WEBHOOK_URL) by event and result: sent, failed (will be retried), dropped (given up) or refused (a validate that refused or did not answer)',
    labelNames: ['event', 'result'] as const,
    registers: [this.registry],
  });

  readonly hashingRefused = new Counter({
    name: 'users_password_hashing_refused_total',
    help: 'Requests answered 503 SERVER_BUSY because USERS_ARGON2_QUEUE_SIZE hashes were already waiting',
    registers: [this.registry],
  });

  private readonly backlogGauges: [Gauge, (backlogs: Backlogs) => number][] = [
    [this.gauge('users_outbox_backlog', 'Domain events recorded and not yet acknowledged by JetStream'), (b) => b.events_pending],
    [this.gauge('users_outbox_relay_lag_seconds', 'Age of the oldest unsent domain event (0 when none waits)'), (b) => b.events_oldest_age_s],
    [this.gauge('users_mail_queue_backlog', 'Mails queued and not yet sent'), (b) => b.mails_pending],
    [this.gauge('users_mail_queue_failed', 'Mails given up (kept for USERS_OUTBOX_RETENTION)'), (b) => b.mails_failed],
    [this.gauge('users_webhook_queue_backlog', 'signup and login webhooks queued and not yet delivered'), (b) => b.webhooks_pending],
    [this.gauge('users_webhook_queue_failed', 'Webhooks given up after WEBHOOK_RETRIES refusals (kept for USERS_OUTBOX_RETENTION)'), (b) => b.webhooks_failed],
  ];

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly dataSource: DataSource,
    private readonly backlogs: BacklogsService,
  ) {
    collectDefaultMetrics({ register: this.registry });
    this.poolGauges();
  }

  /** The Prometheus text of every metric, the backlogs read now (absent, not stale, while the database cannot be asked). */
  async render(): Promise<string> {
    const backlogs = await this.backlogs.read();
    for (const [gauge, value] of this.backlogGauges) {
      if (backlogs) gauge.set(value(backlogs));
      else gauge.reset();
    }
    return this.registry.metrics();
  }

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onResponse', (request, reply, done) => {
      // The route template (`/users/:id`), never the raw URL: one series per route, not per user.
      const route = request.routeOptions.url ?? 'unmatched';
      this.httpDuration.observe({ method: request.method, route, status_code: reply.statusCode }, reply.elapsedTime / 1000);
      const outcomes = request.routeOptions.config.outcomeCounter;
      if (outcomes) this.countOutcome(outcomes, reply);
      done();
    });
  }

  /**
   * An answer of a route with CountOutcomes: success, or the code of the error its input validation or
   * handler raised. Refusals before them are not outcomes of the operation: rate limits have their own
   * counter, and answers made by Fastify's hooks (e.g. SERVER_BUSY) carry no code here.
   */
  private countOutcome(counter: OutcomeCounter, reply: FastifyReply): void {
    if (reply.statusCode < 400) return void this[counter].inc({ result: 'success' });
    const code = answeredErrorCode(reply);
    if (code && code !== 'RATE_LIMITED') this[counter].inc({ result: code.toLowerCase() });
  }

  private gauge(name: string, help: string, collect?: (this: Gauge) => void): Gauge {
    return new Gauge({ name, help, registers: [this.registry], ...(collect ? { collect } : {}) });
  }

  private poolGauges(): void {
    const pool = () => (this.dataSource.isInitialized ? ((this.dataSource.driver as PostgresDriver).master as Pool | undefined) : undefined);
    const gauge = (name: string, help: string, read: (pool: Pool) => number) =>
      this.gauge(name, help, function () {
        const current = pool();
        if (current) this.set(read(current));
      });
    gauge('users_db_pool_connections_in_use', 'PostgreSQL connections of the pool checked out (the LISTEN connection included)', (p) => p.totalCount - p.idleCount);
    gauge('users_db_pool_connections_idle', 'PostgreSQL connections of the pool open and idle', (p) => p.idleCount);
    gauge('users_db_pool_requests_waiting', 'Queries waiting for a connection of the pool', (p) => p.waitingCount);
  }

}
