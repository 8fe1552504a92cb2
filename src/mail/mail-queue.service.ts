import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { EntityManager } from 'typeorm';
import { authConfig } from '../config/auth.config';
import { MailKind, mailConfig } from '../config/mail.config';
import { SealedBox } from '../common/utils/sealed-box';

/** Woken by every transaction that queued a mail, at its commit. */
export const MAIL_CHANNEL = 'users_mail';

/** What a template sees (besides `site_name` and `expiry`, which the sender adds). */
export interface MailContext {
  /** The recipient's name, or their address when they have none yet. */
  name: string;
  email: string;
  link: string;
  /** The notice of an e-mail change: the address the account has now. */
  new_email?: string;
}

export interface OutgoingMail {
  kind: MailKind;
  to: string;
  context: MailContext;
  /** When the link expires; the mail is dropped if it could not be sent by then. */
  expiresAt: Date;
}

/**
 * Puts mails in the durable queue, in the caller's transaction: a mail exists exactly when the
 * change that wants it committed, and no request waits for an SMTP server.
 */
@Injectable()
export class MailQueue {
  readonly box: SealedBox;

  constructor(
    @Inject(mailConfig.KEY) private readonly mail: ConfigType<typeof mailConfig>,
    @Inject(authConfig.KEY) auth: ConfigType<typeof authConfig>,
  ) {
    this.box = new SealedBox(auth.secretKey, 'mail-queue', auth.previousSecretKey);
  }

  async enqueue(manager: EntityManager, mail: OutgoingMail): Promise<void> {
    await manager.query(
      `INSERT INTO mail_outbox (kind, recipient, sealed_context, expires_at)
       SELECT $1, $2, $3, $4 FROM (SELECT pg_notify($5, '')) AS wake_the_sender`,
      [mail.kind, mail.to, this.box.seal(JSON.stringify(mail.context)), mail.expiresAt, MAIL_CHANNEL],
    );
  }

  /**
   * Claims this address's slot for a mail of this kind (EMAIL_MIN_INTERVAL) in one statement, so that
   * concurrent requests cannot both pass. Answers 0 when claimed, else the milliseconds to wait.
   */
  async claimSlot(manager: EntityManager, to: string, kind: MailKind): Promise<number> {
    const [row] = await manager.query<{ claimed: boolean; wait_ms: number }[]>(
      `WITH claim AS (
         INSERT INTO mail_throttle (recipient, kind, last_at) VALUES ($1, $2, now())
         ON CONFLICT (recipient, kind) DO UPDATE SET last_at = now()
         WHERE mail_throttle.last_at <= now() - $3 * interval '1 millisecond'
         RETURNING last_at
       )
       SELECT EXISTS (SELECT 1 FROM claim) AS claimed,
              COALESCE((SELECT ceil(extract(epoch FROM last_at + $3 * interval '1 millisecond' - now()) * 1000)::int
                        FROM mail_throttle WHERE recipient = $1 AND kind = $2), 0) AS wait_ms`,
      [to, kind, this.mail.minIntervalMs],
    );
    return row.claimed ? 0 : Math.max(1, row.wait_ms);
  }
}
