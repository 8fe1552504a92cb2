import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { DataSource, EntityManager } from 'typeorm';
import { PollingWorker } from '../common/polling-worker';
import { authConfig } from '../config/auth.config';
import { WebhookEvent, webhooksConfig } from '../config/webhooks.config';
import { PgNotifications } from '../database/pg-notifications';
import { Metrics } from '../metrics/metrics.service';
import { toGoTrueUser } from '../gotrue/gotrue.mapper';
import { User } from '../users/entities/user.entity';
import { UsersRepository } from '../users/users.repository';
import { toUser } from '../users/users.mapper';
import { WebhookAnswer, WebhookClient } from './webhook-client.service';
import { WEBHOOK_CHANNEL } from './webhook-outbox.service';
import { retryDelayMs } from '../common/retry-delay';

const BATCH_SIZE = 16;
/** The latency when no NOTIFY can wake the deliverer (PGlite), and the pause after a failed run. */
const POLL_INTERVAL_MS = 1000;
const RETRY_BASE_MS = 1000;
const RETRY_MAX_MS = 10 * 60_000;

interface Delivery {
  seq: string;
  id: string;
  event: WebhookEvent;
  userId: string;
  attempts: number;
  refusals: number;
}

/** A 4xx other than 408 and 429 is the receiver's considered refusal; anything else (5xx, no answer) means it is not there now. */
function isRefusal(answer: WebhookAnswer): boolean {
  return answer.outcome === 'refused' && answer.status >= 400 && answer.status < 500 && answer.status !== 408 && answer.status !== 429;
}

/**
 * Delivers the queued `signup` and `login` webhooks, with the user as GoTrue's user object as it is at
 * delivery. Rows are claimed with FOR UPDATE SKIP LOCKED and held while they are sent, so that two
 * replicas never send the same one; a user's deliveries go out in the order they were queued (a later
 * one waits while an earlier one waits for a retry). A failed attempt is retried with doubling delays
 * (1 s up to 10 minutes): for as long as the receiver is down (no answer, a timeout, a 5xx, 408 or
 * 429), and up to WEBHOOK_RETRIES 4xx refusals, after which the delivery is given up (`failed_at`).
 */
@Injectable()
export class WebhookDeliverer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(WebhookDeliverer.name);
  private readonly worker = new PollingWorker(WebhookDeliverer.name, POLL_INTERVAL_MS, () => this.deliverBatch(), this.logger);

  constructor(
    private readonly dataSource: DataSource,
    private readonly notifications: PgNotifications,
    private readonly client: WebhookClient,
    private readonly users: UsersRepository,
    private readonly metrics: Metrics,
    @Inject(webhooksConfig.KEY) private readonly config: ConfigType<typeof webhooksConfig>,
    @Inject(authConfig.KEY) private readonly auth: ConfigType<typeof authConfig>,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.url) return;
    await this.notifications.listen(WEBHOOK_CHANNEL, () => this.worker.wake());
    this.worker.start();
  }

  /** Lets the batch in flight finish while the database is still there. */
  onModuleDestroy(): Promise<void> {
    return this.worker.stop();
  }

  /** Delivers one batch; true when the batch was full (more may be waiting). */
  private deliverBatch(): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      const batch = await this.claim(manager);
      const byUser = new Map<string, Delivery[]>();
      for (const delivery of batch) byUser.set(delivery.userId, [...(byUser.get(delivery.userId) ?? []), delivery]);
      await Promise.all([...byUser.values()].map((deliveries) => this.deliverInOrder(manager, deliveries)));
      return batch.length === BATCH_SIZE;
    });
  }

  /** The oldest pending rows that no other replica holds and that no earlier pending row of their user precedes. */
  private async claim(manager: EntityManager): Promise<Delivery[]> {
    const rows = await manager.query<{ seq: string; id: string; event: WebhookEvent; user_id: string; attempts: number; refusals: number }[]>(
      `WITH candidates AS (
         SELECT seq, user_id FROM webhook_deliveries
         WHERE sent_at IS NULL AND failed_at IS NULL AND available_at <= now()
         ORDER BY seq LIMIT $1
         FOR UPDATE SKIP LOCKED
       )
       SELECT d.seq, d.id, d.event, d.user_id, d.attempts, d.refusals
       FROM webhook_deliveries d JOIN candidates c USING (seq)
       WHERE NOT EXISTS (
         SELECT 1 FROM webhook_deliveries earlier
         WHERE earlier.user_id = c.user_id AND earlier.sent_at IS NULL AND earlier.failed_at IS NULL AND earlier.seq < c.seq
           AND earlier.seq NOT IN (SELECT seq FROM candidates)
       )
       ORDER BY d.seq`,
      [BATCH_SIZE],
    );
    return rows.map((row) => ({ seq: row.seq, id: row.id, event: row.event, userId: row.user_id, attempts: row.attempts, refusals: row.refusals }));
  }

  /** One user's deliveries, one after the other; one put back for a retry holds back the rest. */
  private async deliverInOrder(manager: EntityManager, deliveries: Delivery[]): Promise<void> {
    for (const delivery of deliveries) {
      if (!(await this.deliver(manager, delivery))) return;
    }
  }

  /** Sends one delivery; false when it waits for a retry. */
  private async deliver(manager: EntityManager, delivery: Delivery): Promise<boolean> {
    // In the claim's transaction: PGlite has one session, which that transaction holds.
    const user = await manager.findOneBy(User, { id: delivery.userId });
    if (!user) {
      await this.giveUp(manager, delivery, 'the user no longer exists');
      return true;
    }
    const answer = await this.client.send(delivery.event, toGoTrueUser(toUser(user), await this.users.signInFacts(user.id, manager), this.auth.audience));
    if (answer.outcome === 'accepted') {
      await manager.query(`UPDATE webhook_deliveries SET sent_at = clock_timestamp(), attempts = attempts + 1, last_error = NULL WHERE seq = $1`, [delivery.seq]);
      this.metrics.webhooks.inc({ event: delivery.event, result: 'sent' });
      return true;
    }
    const error = answer.outcome === 'refused' ? `HTTP ${answer.status}: ${answer.message}` : answer.message;
    const refusals = delivery.refusals + (isRefusal(answer) ? 1 : 0);
    if (refusals >= this.config.retries) {
      await this.giveUp(manager, delivery, `refused ${refusals} time(s) (WEBHOOK_RETRIES=${this.config.retries}); last: ${error}`, refusals);
      return true;
    }
    const delayMs = retryDelayMs(delivery.attempts, RETRY_BASE_MS, RETRY_MAX_MS);
    await manager.query(
      `UPDATE webhook_deliveries SET attempts = attempts + 1, refusals = $2, available_at = now() + $3 * interval '1 millisecond', last_error = $4 WHERE seq = $1`,
      [delivery.seq, refusals, delayMs, error.slice(0, 1000)],
    );
    this.metrics.webhooks.inc({ event: delivery.event, result: 'failed' });
    this.logger.warn({ deliveryId: delivery.id, event: delivery.event, attempt: delivery.attempts + 1, retryInMs: delayMs, reason: error }, 'webhook not delivered; will retry');
    return false;
  }

  private async giveUp(manager: EntityManager, delivery: Delivery, reason: string, refusals = delivery.refusals): Promise<void> {
    await manager.query(`UPDATE webhook_deliveries SET failed_at = clock_timestamp(), attempts = attempts + 1, refusals = $3, last_error = $2 WHERE seq = $1`, [delivery.seq, reason.slice(0, 1000), refusals]);
    this.metrics.webhooks.inc({ event: delivery.event, result: 'dropped' });
    this.logger.error({ deliveryId: delivery.id, event: delivery.event, userId: delivery.userId, reason }, 'webhook given up');
  }
}
