import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { Audit } from '../common/decorators/audit.decorator';
import { MessageDto } from '../common/dto/message.dto';
import { AppError } from '../common/errors/app-error';
import { DomainEvent, EventsService } from '../events/events.service';
import { LinkBuilder, LinkMailer } from '../mail/link-mailer.service';
import { LinkTokensService } from '../mail/link-tokens.service';
import { MailQueue } from '../mail/mail-queue.service';
import { User } from './entities/user.entity';
import { UsersRepository } from './users.repository';

/**
 * E-mail verification: a single-use token of its own type (24 h by default) mailed as a link to the
 * user's current address. A new mail replaces the previous token; changing the address makes any
 * earlier token worthless.
 */
@Injectable()
export class EmailVerificationService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly users: UsersRepository,
    private readonly linkTokens: LinkTokensService,
    private readonly linkMailer: LinkMailer,
    private readonly mailQueue: MailQueue,
    private readonly events: EventsService,
  ) {}

  /**
   * Queues a verification mail to the user's address, in the caller's transaction, unless one went
   * there less than EMAIL_MIN_INTERVAL ago. Answers the user.send_verification event for the caller
   * to record with the rest of its change, or the milliseconds to wait. `link`: see LinkMailer.send.
   */
  async queue(manager: EntityManager, user: User, audit: Audit, link?: LinkBuilder): Promise<{ event: DomainEvent } | { waitMs: number }> {
    const waitMs = await this.mailQueue.claimSlot(manager, user.email, 'verification');
    if (waitMs > 0) return { waitMs };
    await this.linkMailer.send(manager, 'verification', user, link);
    return { event: { operation: 'user.send_verification', userId: user.id, audit, data: { email: user.email } } };
  }

  /** POST /users/send-verification: a new link for the caller. */
  async resend(actor: User, audit: Audit): Promise<MessageDto> {
    if (actor.verifiedAt) throw new AppError('ALREADY_VERIFIED');
    await this.dataSource.transaction(async (manager) => {
      const queued = await this.queue(manager, actor, audit);
      if ('waitMs' in queued) throw AppError.tooManyRequests(queued.waitMs);
      await this.events.record(manager, queued.event);
    });
    return { msg: 'Verification e-mail sent' };
  }

  /** GET /verify-email: spends the token and marks the address it was sent to as verified. */
  async verify(token: string, audit: Audit): Promise<MessageDto> {
    await this.dataSource.transaction((manager) => this.confirm(manager, token, audit));
    return { msg: 'Email verified' };
  }

  /** Spends a verification token and marks the address it was sent to as verified, in the caller's transaction; the verified user. */
  async confirm(manager: EntityManager, token: string, audit: Audit): Promise<User> {
    const link = await this.linkTokens.consume(manager, token, ['verification']);
    const user = await this.markVerified(manager, link.userId, link.email, audit);
    if (!user) throw new AppError('LINK_TOKEN_INVALID', 'this link is for an address the account no longer has');
    return user;
  }

  /**
   * Marks the user's address verified if it is still `email` (a link mailed there was followed), with
   * the user.verify_email event, in the caller's transaction; null when the address changed since.
   */
  async markVerified(manager: EntityManager, userId: string, email: string, audit: Audit): Promise<User | null> {
    const user = await this.users.markVerified(manager, userId, email);
    if (!user) return null;
    await this.events.record(manager, {
      operation: 'user.verify_email',
      userId: user.id,
      audit: { ...audit, actorId: audit.actorId ?? user.id },
      data: { email: user.email, verified_at: user.verifiedAt?.toISOString() ?? null },
    });
    return user;
  }
}
