import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { Audit } from '../common/decorators/audit.decorator';
import { MessageDto } from '../common/dto/message.dto';
import { AppError } from '../common/errors/app-error';
import { DomainEvent, EventsService } from '../events/events.service';
import { LinkPurpose, LinkToken } from '../mail/entities/link-token.entity';
import { LinkBuilder, LinkMailer } from '../mail/link-mailer.service';
import { LinkTokensService } from '../mail/link-tokens.service';
import { MailQueue } from '../mail/mail-queue.service';
import { User } from '../users/entities/user.entity';
import { PasswordService } from '../users/password.service';
import { UsersRepository } from '../users/users.repository';
import { EmailVerificationService } from '../users/email-verification.service';
import { RefreshTokensRepository } from './refresh-tokens.repository';

/**
 * Every reset request takes at least this long, whether a mail is queued, throttled or there is no
 * such account, so that the answer's timing does not tell which (the real work takes a few ms).
 */
const RESET_REQUEST_MIN_MS = 150;
const RESET_REQUESTED: MessageDto = { msg: 'Email with reset link is sent' };
/** The links that set a password. */
const RESET_PURPOSES: LinkPurpose[] = ['recovery', 'invite'];

@Injectable()
export class PasswordResetService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly users: UsersRepository,
    private readonly passwords: PasswordService,
    private readonly linkTokens: LinkTokensService,
    private readonly linkMailer: LinkMailer,
    private readonly mailQueue: MailQueue,
    private readonly refreshTokens: RefreshTokensRepository,
    private readonly events: EventsService,
    private readonly verification: EmailVerificationService,
  ) {}

  /**
   * POST /password/reset-request: mails a recovery link (15 min by default) to an enabled account.
   * The answer is the same whether or not the account exists or a mail was sent (no enumeration).
   * `link`: see LinkMailer.send.
   */
  async request(email: string, audit: Audit, link?: LinkBuilder): Promise<MessageDto> {
    const started = Date.now();
    try {
      await this.dataSource.transaction(async (manager) => {
        const user = await this.users.findByEmail(email, manager);
        if (user?.status !== 'enabled') return;
        if ((await this.mailQueue.claimSlot(manager, email, 'password_reset')) > 0) return;
        await this.linkMailer.send(manager, 'password_reset', user, link);
        await this.events.record(manager, { operation: 'user.send_password_reset', userId: user.id, audit, data: { email } });
      });
    } finally {
      await sleep(Math.max(0, RESET_REQUEST_MIN_MS - (Date.now() - started)));
    }
    return RESET_REQUESTED;
  }

  /**
   * Spends a recovery or invite token without setting a password, in the caller's transaction: the
   * address the link was mailed to is verified, and the user answered, for a sign-in by the link (the
   * GoTrue API's /verify, after which the user sets a password with a recent session).
   */
  async redeem(manager: EntityManager, token: string, audit: Audit): Promise<User> {
    const { link, before } = await this.spend(manager, token);
    if (before.verifiedAt) return before;
    return (await this.verification.markVerified(manager, before.id, link.email, audit)) as User;
  }

  /**
   * PUT /password/reset: spends a recovery or invite token, sets the password, verifies the address
   * the link was mailed to, and ends every session of the user. Answers the user.
   */
  async reset(token: string | undefined, password: string, confirmation: string, audit: Audit): Promise<User> {
    if (!token) throw new AppError('LINK_TOKEN_INVALID', 'give the token in the body or as a bearer token');
    if (password !== confirmation) {
      throw new AppError('VALIDATION_FAILED', 'passwords do not match', [{ field: 'confirm_password', problem: 'must equal password' }]);
    }
    // Hashed only for a link that can be spent (an anonymous caller cannot make the service hash at
    // will), and before the transaction: no row stays locked while argon2 runs.
    const link = await this.linkTokens.check(this.dataSource.manager, token, RESET_PURPOSES);
    const owner = await this.users.findById(link.userId);
    this.passwords.assertAcceptable(password, 'password', { email: link.email, username: owner?.username });
    const passwordHash = await this.passwords.hash(password);
    return this.dataSource.transaction(async (manager) => {
      const { link, before } = await this.spend(manager, token);
      // The user row is locked (consume took it first), then the sessions are revoked: see RefreshTokensRepository.rotate.
      await this.refreshTokens.revokeAll(before.id, undefined, manager);
      const user = (await this.users.update(
        before.id,
        { passwordHash, verifiedAt: () => 'COALESCE(verified_at, now())', tokensRevokedAt: () => 'clock_timestamp()', updatedBy: before.id },
        { manager },
      )) as User;
      await this.linkTokens.revoke(manager, user.id, RESET_PURPOSES);
      const actor = { ...audit, actorId: audit.actorId ?? user.id };
      const events: DomainEvent[] = [{ operation: 'user.reset_secret', userId: user.id, audit: actor, data: { via: link.purpose } }];
      if (!before.verifiedAt) {
        events.push({ operation: 'user.verify_email', userId: user.id, audit: actor, data: { email: user.email, verified_at: user.verifiedAt?.toISOString() ?? null } });
      }
      await this.events.record(manager, ...events);
      return user;
    });
  }

  /** Spends a recovery or invite token of an enabled user who still has the address it was mailed to; the user row is locked. */
  private async spend(manager: EntityManager, token: string): Promise<{ link: LinkToken; before: User }> {
    const link = await this.linkTokens.consume(manager, token, RESET_PURPOSES);
    const before = await this.users.findForUpdate(manager, link.userId);
    if (!before || before.status !== 'enabled' || before.email !== link.email) {
      throw new AppError('LINK_TOKEN_INVALID', 'this link is for an address or account that no longer exists');
    }
    return { link, before };
  }
}
