import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { QueryRunner } from 'typeorm';
import { mailConfig } from '../config/mail.config';
import { schedulerConfig } from '../config/scheduler.config';
import { ABANDONED_ENROLMENT_MS } from '../mfa/mfa.repository';
import { STATE_TTL_MS } from '../oauth/state-store';

/** Rows per DELETE: short statements, so that cleaning up never holds many locks for long. */
const BATCH_SIZE = 5000;

/**
 * Removes what has expired or served its purpose: expired refresh and link tokens, spent link
 * tokens, events published and mails sent (or given up) longer than USERS_OUTBOX_RETENTION ago,
 * throttle entries older than EMAIL_MIN_INTERVAL, spent OAuth states that expired anyway, and TOTP
 * enrolments never verified (abandoned: a day old).
 */
@Injectable()
export class CleanupService {
  private readonly logger = new Logger(CleanupService.name);

  constructor(
    @Inject(schedulerConfig.KEY) private readonly scheduler: ConfigType<typeof schedulerConfig>,
    @Inject(mailConfig.KEY) private readonly mail: ConfigType<typeof mailConfig>,
  ) {}

  async clean(runner: QueryRunner): Promise<Record<string, number>> {
    const retention = this.scheduler.outboxRetentionMs;
    const removed = {
      refresh_tokens: await this.deleteInBatches(runner, 'refresh_tokens', 'expires_at < now()'),
      link_tokens: await this.deleteInBatches(runner, 'link_tokens', `expires_at < now() OR used_at IS NOT NULL`),
      outbox_events: await this.deleteInBatches(runner, 'outbox_events', `sent_at < now() - $1 * interval '1 millisecond'`, [retention]),
      mail_outbox: await this.deleteInBatches(runner, 'mail_outbox', `COALESCE(sent_at, failed_at) < now() - $1 * interval '1 millisecond'`, [retention]),
      // Webhooks sent or given up, as mails.
      webhook_deliveries: await this.deleteInBatches(runner, 'webhook_deliveries', `COALESCE(sent_at, failed_at) < now() - $1 * interval '1 millisecond'`, [retention]),
      mail_throttle: await this.deleteInBatches(runner, 'mail_throttle', `last_at < now() - $1 * interval '1 millisecond'`, [this.mail.minIntervalMs]),
      // A state is refused after STATE_TTL_MS anyway: its spent record can go then.
      oauth_spent_states: await this.deleteInBatches(runner, 'oauth_spent_states', `spent_at < now() - $1 * interval '1 millisecond'`, [STATE_TTL_MS]),
      // Unverified factors count nowhere but against the per-user maximum; a day is long enough to scan a QR code.
      mfa_factors: await this.deleteInBatches(runner, 'mfa_factors', `status = 'unverified' AND created_at < now() - $1 * interval '1 millisecond'`, [ABANDONED_ENROLMENT_MS]),
    };
    if (Object.values(removed).some((count) => count > 0)) this.logger.log({ removed }, 'cleaned up expired and spent rows');
    return removed;
  }

  private async deleteInBatches(runner: QueryRunner, table: string, condition: string, parameters: unknown[] = []): Promise<number> {
    let total = 0;
    for (;;) {
      const result = await runner.query(
        `DELETE FROM ${table} WHERE ctid = ANY (ARRAY(SELECT ctid FROM ${table} WHERE ${condition} LIMIT ${BATCH_SIZE}))`,
        parameters,
        true,
      );
      total += result.affected ?? 0;
      if ((result.affected ?? 0) < BATCH_SIZE) return total;
    }
  }
}
