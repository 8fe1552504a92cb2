import { Injectable } from '@nestjs/common';
import { EventsRelay } from '../events/events-relay.service';
import { MailSender, SmtpStatus } from '../mail/mail-sender.service';
import { BacklogsService } from '../metrics/backlogs.service';

const NATS_TIMEOUT_MS = 1000;

export interface DependencyReport {
  /** Absent when USERS_ES_URL is empty (no NATS configured). */
  nats?: { status: 'up' | 'down'; message?: string };
  smtp: SmtpStatus;
  /** Domain events not yet acknowledged by JetStream; null while the database cannot be asked. */
  outbox: { status: 'up'; pending: number | null };
  /** Mails waiting to be sent, and those given up (kept for USERS_OUTBOX_RETENTION). */
  mail: { status: 'up'; pending: number | null; failed: number | null };
}

/**
 * What readiness reports without failing on: NATS, SMTP and the backlogs. While NATS or SMTP is down,
 * events and mails wait safely in their tables and HTTP works, so taking every replica out of service
 * would only turn a partial outage into a total one. Only PostgreSQL makes the service unready.
 */
@Injectable()
export class DependenciesHealth {
  constructor(
    private readonly relay: EventsRelay,
    private readonly mailSender: MailSender,
    private readonly backlogs: BacklogsService,
  ) {}

  async report(): Promise<DependencyReport> {
    const [nats, backlog] = await Promise.all([this.relay.enabled ? this.nats() : undefined, this.backlogs.read()]);
    return {
      ...(nats ? { nats } : {}),
      smtp: this.mailSender.smtpStatus,
      outbox: { status: 'up', pending: backlog?.events_pending ?? null },
      mail: { status: 'up', pending: backlog?.mails_pending ?? null, failed: backlog?.mails_failed ?? null },
    };
  }

  private async nats(): Promise<DependencyReport['nats']> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${NATS_TIMEOUT_MS} ms`)), NATS_TIMEOUT_MS)));
      await Promise.race([this.relay.ping(), timeout]);
      return { status: 'up' };
    } catch (error) {
      return { status: 'down', message: (error as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }
}
