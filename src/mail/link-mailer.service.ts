import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { EntityManager } from 'typeorm';
import { MailKind, mailConfig } from '../config/mail.config';
import { LinkPurpose } from './entities/link-token.entity';
import { LinkTokensService } from './link-tokens.service';
import { MailQueue } from './mail-queue.service';

const PURPOSE: Record<MailKind, LinkPurpose> = { verification: 'verification', password_reset: 'recovery', invite: 'invite' };

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

/**
 * Mails a user a link carrying a new single-use token of the kind's purpose and lifetime (replacing
 * their unused ones), in the caller's transaction.
 */
@Injectable()
export class LinkMailer {
  constructor(
    private readonly linkTokens: LinkTokensService,
    private readonly queue: MailQueue,
    @Inject(mailConfig.KEY) private readonly mail: ConfigType<typeof mailConfig>,
  ) {}

  async send(manager: EntityManager, kind: MailKind, user: LinkRecipient): Promise<void> {
    const { urlPrefix, ttlMs } = this.mail.kinds[kind];
    const { token, expiresAt } = await this.linkTokens.issue(manager, { userId: user.id, purpose: PURPOSE[kind], email: user.email, ttlMs });
    await this.queue.enqueue(manager, {
      kind,
      to: user.email,
      // The name a mail greets: the user's names, or their address while they have none.
      context: { name: [user.firstName, user.lastName].filter(Boolean).join(' ') || user.email, email: user.email, link: withToken(urlPrefix, token) },
      expiresAt,
    });
  }
}
