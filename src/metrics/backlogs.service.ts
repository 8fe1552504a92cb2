import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** What waits in the database for a worker: unsent events, mails and webhooks, and the mails and webhooks given up. */
export interface Backlogs {
  events_pending: number;
  /** Seconds since the oldest unsent event was recorded (0 when none waits): how far the relay is behind. */
  events_oldest_age_s: number;
  mails_pending: number;
  mails_failed: number;
  webhooks_pending: number;
  webhooks_failed: number;
}

/** The backlogs of the outbox, the mail queue and the webhook queue, for readiness' body and for /metrics. */
@Injectable()
export class BacklogsService {
  constructor(private readonly dataSource: DataSource) {}

  /** Undefined while the database cannot be asked. */
  read(): Promise<Backlogs | undefined> {
    return this.dataSource
      .query(
        `SELECT (SELECT count(*)::int FROM outbox_events WHERE sent_at IS NULL) AS events_pending,
                coalesce((SELECT extract(epoch FROM now() - created_at)::float8 FROM outbox_events WHERE sent_at IS NULL ORDER BY seq LIMIT 1), 0) AS events_oldest_age_s,
                (SELECT count(*)::int FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL) AS mails_pending,
                (SELECT count(*)::int FROM mail_outbox WHERE failed_at IS NOT NULL) AS mails_failed,
                (SELECT count(*)::int FROM webhook_deliveries WHERE sent_at IS NULL AND failed_at IS NULL) AS webhooks_pending,
                (SELECT count(*)::int FROM webhook_deliveries WHERE failed_at IS NOT NULL) AS webhooks_failed`,
      )
      .then(([row]: Backlogs[]) => row, () => undefined);
  }
}
