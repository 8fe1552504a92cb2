import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { EntityManager } from 'typeorm';
import { LinkMailKind, mailConfig } from '../config/mail.config';
import { LinkPurpose } from './entities/link-token.entity';
import { LinkTokensService } from './link-tokens.service';
import { MailQueue } from './mail-queue.service';

const PURPOSE: Record<LinkMailKind, LinkPurpose> = { verification: 'verification', password_reset: 'recovery', invite: 'invite' };

export interface LinkRecipient {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
}

/** The link of a mail: the configured page, with the token as the `token` query parameter. */
export function withToken(urlPrefix: string, token: string): string {
  const url = new URL(urlPrefix);
  url.searchParams.set('token', token);
  return url.toString();
}

/** The link of a mail, from its token: by default the kind's configured page (withToken); the GoTrue API links to its /verify. */
export type LinkBuilder = (token: string) => string;

/** The name a mail greets: the user's names, or their address while they have none. */
const greeting = (user: LinkRecipient) => [user.firstName, user.lastName].filter(Boolean).join(' ') || user.email;

/**
 * Mails a user a link carrying a new single-use token of the kind's purpose and lifetime (replacing
 * their unused ones), in the caller's transaction. `link` builds the link from the token when the
 * mail is to open another page than the kind's configured one.
 */
@Injectable()
export class LinkMailer {
  constructor(
    private readonly linkTokens: LinkTokensService,
    private readonly queue: MailQueue,
    @Inject(mailConfig.KEY) private readonly mail: ConfigType<typeof mailConfig>,
  ) {}

  async send(manager: EntityManager, kind: LinkMailKind, user: LinkRecipient, link?: LinkBuilder): Promise<void> {
    const { urlPrefix, ttlMs } = this.mail.kinds[kind];
    const { token, expiresAt } = await this.linkTokens.issue(manager, { userId: user.id, purpose: PURPOSE[kind], email: user.email, ttlMs });
    await this.queue.enqueue(manager, {
      kind,
      to: user.email,
      context: { name: greeting(user), email: user.email, link: link ? link(token) : withToken(urlPrefix, token) },
      expiresAt,
    });
  }

  /**
   * Tells the old address that the account's address changed to `newEmail`, and where to report a
   * change its owner did not make (EMAIL_CHANGE_REPORT_URL); in the caller's transaction.
   */
  async sendEmailChanged(manager: EntityManager, user: LinkRecipient, newEmail: string): Promise<void> {
    const { urlPrefix, ttlMs } = this.mail.kinds.email_changed;
    await this.queue.enqueue(manager, {
      kind: 'email_changed',
      to: user.email,
      context: { name: greeting(user), email: user.email, new_email: newEmail, link: urlPrefix },
      expiresAt: new Date(Date.now() + ttlMs),
    });
  }
}
