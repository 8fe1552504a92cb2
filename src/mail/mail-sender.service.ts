import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { MailerService } from '@nestjs-modules/mailer';
import { DataSource, EntityManager } from 'typeorm';
import { MailKind, mailConfig } from '../config/mail.config';
import { PollingWorker } from '../common/polling-worker';
import { UnopenableBoxError } from '../common/utils/sealed-box';
import { PgNotifications } from '../database/pg-notifications';
import { Metrics } from '../metrics/metrics.service';
import { QueuedMail } from './entities/queued-mail.entity';
import { MAIL_CHANNEL, MailContext, MailQueue } from './mail-queue.service';
import { retryDelayMs } from '../common/retry-delay';

const BATCH_SIZE = 10;
/** Also the latency of the queue when no NOTIFY can wake it (PGlite) and the pause after a failed run. */
const POLL_INTERVAL_MS = 1000;
const MAX_RETRY_DELAY_MS = 10 * 60_000;

/** What readiness reports about SMTP: the outcome of the last delivery attempt (no probe connection of its own). */
export interface SmtpStatus {
  /** `log`: EMAIL_HOST is empty; `unknown`: nothing sent since the start. */
  status: 'up' | 'down' | 'log' | 'unknown';
  last_attempt_at?: string;
  last_error?: string;
}

/** "15 minutes", "24 hours", "3 days": how long a link lives, for the mail's text (days from two on). */
export function humanDuration(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1000, 'second'],
  ];
  const fits = ([size, unit]: [number, string]) => ms >= (unit === 'day' ? 2 * size : size);
  const [size, unit] = units.find((u) => fits(u) && ms % u[0] === 0) ?? units.find(fits) ?? [1000, 'second'];
  const count = Math.max(1, Math.round(ms / size));
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

/**
 * Sends queued mails. Each batch is claimed with FOR UPDATE SKIP LOCKED and held until it is marked
 * sent, so that two replicas never send the same mail; a mail the SMTP server refused is retried
 * with doubling delays (EMAIL_RETRY_DELAY up to 10 minutes) until its link expires. Without an SMTP
 * server (EMAIL_HOST empty) each mail is written to the log as one line with its link.
 */
@Injectable()
export class MailSender implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(MailSender.name);
  private readonly worker = new PollingWorker(MailSender.name, POLL_INTERVAL_MS, () => this.sendBatch(), this.logger);
  private lastAttempt?: { at: Date; error?: string };

  constructor(
    private readonly dataSource: DataSource,
    private readonly mailer: MailerService,
    private readonly queue: MailQueue,
    private readonly notifications: PgNotifications,
    private readonly metrics: Metrics,
    @Inject(mailConfig.KEY) private readonly mail: ConfigType<typeof mailConfig>,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.mail.smtp) this.logger.warn('EMAIL_HOST is empty: mails are written to the log, not sent');
    await this.notifications.listen(MAIL_CHANNEL, () => this.worker.wake());
    this.worker.start();
  }

  get smtpStatus(): SmtpStatus {
    if (!this.mail.smtp) return { status: 'log' };
    if (!this.lastAttempt) return { status: 'unknown' };
    const { at, error } = this.lastAttempt;
    return { status: error ? 'down' : 'up', last_attempt_at: at.toISOString(), ...(error ? { last_error: error } : {}) };
  }

  /** Lets the batch in flight finish while the database is still there. */
  onModuleDestroy(): Promise<void> {
    return this.worker.stop();
  }

  /** Sends one batch; true when the batch was full (more may be waiting). */
  private sendBatch(): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      const batch = await manager
        .getRepository(QueuedMail)
        .createQueryBuilder('m')
        .where('m.sentAt IS NULL AND m.failedAt IS NULL AND m.availableAt <= now()')
        .orderBy('m.availableAt')
        .limit(BATCH_SIZE)
        .setLock('pessimistic_write')
        .setOnLocked('skip_locked')
        .getMany();
      for (const mail of batch) await this.deliver(manager, mail);
      return batch.length === BATCH_SIZE;
    });
  }

  private async deliver(manager: EntityManager, mail: QueuedMail): Promise<void> {
    const repository = manager.getRepository(QueuedMail);
    if (mail.expiresAt.getTime() <= Date.now() || !mail.sealedContext) {
      await repository.update(mail.id, { failedAt: () => 'now()', sealedContext: null, lastError: 'the link expired before the mail could be sent' });
      this.metrics.mails.inc({ kind: mail.kind, result: 'dropped' });
      this.logger.warn({ mailId: mail.id, kind: mail.kind }, 'mail dropped: its link expired before it could be sent');
      return;
    }
    let context: MailContext;
    try {
      context = JSON.parse(this.queue.box.open(mail.sealedContext)) as MailContext;
    } catch (error) {
      if (!(error instanceof UnopenableBoxError)) throw error;
      // No retry can help: the key it was sealed with is gone (USERS_SECRET_KEY changed without USERS_SECRET_KEY_PREVIOUS).
      await repository.update(mail.id, { failedAt: () => 'now()', sealedContext: null, lastError: error.message });
      this.metrics.mails.inc({ kind: mail.kind, result: 'dropped' });
      this.logger.error({ mailId: mail.id, kind: mail.kind }, `mail dropped: ${error.message}; the user must ask for a new link`);
      return;
    }
    try {
      await this.send(mail.kind as MailKind, mail.recipient, context);
      await repository.update(mail.id, { sentAt: () => 'now()', sealedContext: null, attempts: mail.attempts + 1, lastError: null });
      this.lastAttempt = { at: new Date() };
      this.metrics.mails.inc({ kind: mail.kind, result: 'sent' });
    } catch (error) {
      this.lastAttempt = { at: new Date(), error: String((error as Error).message ?? error).slice(0, 200) };
      const delayMs = retryDelayMs(mail.attempts, this.mail.retryDelayMs, MAX_RETRY_DELAY_MS);
      await repository
        .createQueryBuilder()
        .update()
        .set({ attempts: mail.attempts + 1, availableAt: () => "now() + :delayMs * interval '1 millisecond'", lastError: String((error as Error).message ?? error).slice(0, 1000) })
        .where('id = :id', { id: mail.id, delayMs })
        .execute();
      this.metrics.mails.inc({ kind: mail.kind, result: 'failed' });
      this.logger.warn({ mailId: mail.id, kind: mail.kind, attempt: mail.attempts + 1, retryInMs: delayMs, err: error }, 'mail not sent; will retry');
    }
  }

  private async send(kind: MailKind, to: string, context: MailContext): Promise<void> {
    const { subject, template, ttlMs } = this.mail.kinds[kind];
    if (!this.mail.smtp) {
      this.logger.log({ mail: { to, subject, link: context.link } }, 'mail (logged because EMAIL_HOST is empty)');
      return;
    }
    await this.mailer.sendMail({
      from: this.mail.from,
      to,
      subject,
      template,
      context: { ...context, site_name: this.mail.siteName, expiry: humanDuration(ttlMs) },
    });
  }
}
