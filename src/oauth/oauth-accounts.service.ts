import { firstFactor } from '../auth/access-token';
import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { DataSource, EntityManager } from 'typeorm';
import { Audit } from '../common/decorators/audit.decorator';
import { USERNAME_PATTERN } from '../common/validation/validators';
import { authConfig } from '../config/auth.config';
import { DomainEvent, EventsService } from '../events/events.service';
import { TokenPairDto } from '../auth/dto/token-pair.dto';
import { RefreshTokensRepository } from '../auth/refresh-tokens.repository';
import { TokensService, tokenSubject } from '../auth/tokens.service';
import { LinkTokensService } from '../mail/link-tokens.service';
import { MfaChallengeDto } from '../mfa/dto/mfa.dto';
import { MfaService } from '../mfa/mfa.service';
import { User } from '../users/entities/user.entity';
import { UsersRepository } from '../users/users.repository';
import { toUser } from '../users/users.mapper';
import { AppError } from '../common/errors/app-error';
import { SignupHook } from '../webhooks/signup-hook.service';
import { UserIdentity } from './entities/user-identity.entity';
import { OAuthFailure, OAuthProfile } from './oauth-profile';

/** `taken_over`: linked to an account whose address was unverified, which the one who registered it lost. */
export type SignInOutcome = 'returning' | 'created' | 'linked' | 'taken_over';

/** A valid username from what the provider calls the person, e.g. "Ada.Lovelace@x" → "Ada_Lovelace". */
export function usernameBase(profile: Pick<OAuthProfile, 'username' | 'email'>): string {
  const raw = profile.username || profile.email?.split('@')[0] || '';
  const base = raw
    .replace(/[^a-zA-Z0-9_-]+/g, '_')
    .replace(/[_-]{2,}/g, (run) => run[0])
    .replace(/^[_-]+/, '')
    .slice(0, 26)
    .replace(/[_-]+$/, '');
  return USERNAME_PATTERN.test(base) ? base : 'user';
}

/**
 * Who an OAuth sign-in is: the user already linked to the provider's subject; else the user with
 * the same e-mail address, linked now, but only when the provider says the address is verified;
 * else a new user (verified when the provider verified the address), with auth_provider set and a
 * generated username. The account's changes and their events are one transaction; the session is
 * issued right after it commits.
 *
 * Linking to an account whose address was never verified is a takeover (#8 finding 1): whoever
 * registered it may not own the address (a pre-registered `victim@example.com` with the attacker's
 * password), so the provider-verified owner gets the account alone — no password, no session, no
 * pending link, no other identity of the one who registered it survives.
 */
@Injectable()
export class OAuthAccountsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly users: UsersRepository,
    private readonly tokens: TokensService,
    private readonly refreshTokens: RefreshTokensRepository,
    private readonly linkTokens: LinkTokensService,
    private readonly events: EventsService,
    private readonly signupHook: SignupHook,
    private readonly mfa: MfaService,
    @Inject(authConfig.KEY) private readonly auth: ConfigType<typeof authConfig>,
  ) {}

  /**
   * Signs the person in: an `aal1` session (the provider is one factor), or with `secondFactor:
   * 'challenge'` (the native cookie sign-in) for a user with a verified factor, no session yet but the
   * MFA challenge that POST /users/tokens/mfa completes (#16). The GoTrue API asks for the session, as
   * Supabase answers one: its client steps up, and until then the session is read-only (MfaPolicy).
   */
  async signIn(profile: OAuthProfile, audit: Audit, secondFactor: 'session' | 'challenge' = 'session'): Promise<{ user: User; outcome: SignInOutcome; session: TokenPairDto | MfaChallengeDto }> {
    const { user, outcome } = await this.dataSource.transaction((manager) => this.resolve(manager, profile, audit));
    if (secondFactor === 'challenge' && user.mfaEnabled) return { user, outcome, session: await this.mfa.loginChallenge(user, 'oauth') };
    // After the commit: a takeover refuses every token issued up to its transaction's instant
    // (tokens_revoked_at), and the new session must be younger than that.
    const session = await this.tokens.issue(tokenSubject(user), `oauth:${profile.provider}`, { ...audit, actorId: user.id }, undefined, firstFactor('oauth'));
    return { user, outcome, session };
  }

  /** Finds, links, takes over or creates the user, with the events; in the caller's transaction. */
  private async resolve(manager: EntityManager, profile: OAuthProfile, audit: Audit): Promise<{ user: User; outcome: SignInOutcome }> {
    const identities = manager.getRepository(UserIdentity);
    const identity = await identities.findOne({ where: { provider: profile.provider, subject: profile.subject }, lock: { mode: 'pessimistic_write' } });
    const events: DomainEvent[] = [];
    let user: User | null;
    let outcome: SignInOutcome;
    if (identity) {
      user = await this.users.findForUpdate(manager, identity.userId);
      outcome = 'returning';
    } else {
      if (!profile.email) throw new OAuthFailure('EMAIL_MISSING', `${profile.provider} gave no e-mail address`);
      user = await this.users.findByEmail(profile.email, manager);
      if (user) {
        if (!profile.emailVerified) throw new OAuthFailure('EMAIL_NOT_VERIFIED_BY_PROVIDER', `${profile.provider} has not verified ${profile.email}`);
        user = await this.users.findForUpdate(manager, user.id);
        outcome = user?.verifiedAt ? 'linked' : 'taken_over';
      } else {
        if (!this.auth.allowSelfRegister) throw new OAuthFailure('SELF_REGISTER_DISABLED');
        user = await this.create(manager, profile);
        await this.validateSignup(user);
        events.push({ operation: 'user.create', userId: user.id, audit, data: { ...toUser(user) } });
        outcome = 'created';
      }
    }
    if (!user || user.status !== 'enabled') throw new OAuthFailure('ACCOUNT_DISABLED');
    if (outcome === 'taken_over') {
      user = await this.takeOver(manager, user);
    } else if (profile.emailVerified && profile.email === user.email && !user.verifiedAt) {
      // The provider vouches for the address it verified: so does the account, from now on.
      user = (await this.users.markVerified(manager, user.id, user.email)) as User;
    }
    await identities.upsert(
      { provider: profile.provider, subject: profile.subject, userId: user.id, email: profile.email ?? null, lastLoginAt: () => 'now()' },
      ['provider', 'subject'],
    );
    events.push({ operation: 'user.oauth_login', userId: user.id, audit: { ...audit, actorId: user.id }, data: { provider: profile.provider, outcome } });
    await this.events.record(manager, ...events);
    return { user, outcome };
  }

  /** A first sign-in that creates the account asks the validate webhook; its refusal (an AppError) ends the sign-in and rolls the account back. */
  private async validateSignup(user: User): Promise<void> {
    try {
      await this.signupHook.validate(user);
    } catch (error) {
      if (error instanceof AppError && (error.code === 'SIGNUP_REFUSED_BY_HOOK' || error.code === 'SIGNUP_HOOK_UNAVAILABLE')) throw new OAuthFailure(error.code, error.message);
      throw error;
    }
  }

  /**
   * Hands an unverified account (row-locked by the caller) to the provider-verified owner of its
   * address: the password is dropped, every refresh token revoked and every access token issued so
   * far refused (tokens_revoked_at), the pending verification, reset and invitation links deleted,
   * the identities linked before (which only the one who registered can have added) unlinked, and
   * the address marked verified.
   */
  private async takeOver(manager: EntityManager, user: User): Promise<User> {
    await this.refreshTokens.revokeAll(user.id, undefined, manager);
    await this.linkTokens.revoke(manager, user.id, ['verification', 'recovery', 'invite']);
    await manager.delete(UserIdentity, { userId: user.id });
    const changes = { passwordHash: null, verifiedAt: () => 'now()', tokensRevokedAt: () => 'clock_timestamp()', updatedBy: user.id };
    return (await this.users.update(user.id, changes, { manager })) as User;
  }

  private async create(manager: EntityManager, profile: OAuthProfile): Promise<User> {
    const [firstName, ...rest] = (profile.name?.trim() || profile.email!.split('@')[0]).split(/\s+/);
    return this.users.insert(
      {
        email: profile.email,
        firstName: firstName.slice(0, 254),
        lastName: rest.join(' ').slice(0, 254),
        username: await this.freeUsername(manager, usernameBase(profile)),
        passwordHash: null,
        profilePicture: profile.picture && /^https?:\/\//.test(profile.picture) ? profile.picture.slice(0, 2048) : null,
        authProvider: profile.provider,
        verifiedAt: profile.emailVerified ? () => 'now()' : null,
      },
      manager,
    );
  }

  /** `base`, or `base_<4 hex>` when taken. */
  private async freeUsername(manager: EntityManager, base: string): Promise<string> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const candidate = attempt === 0 ? base : `${base}_${randomBytes(2).toString('hex')}`;
      const taken: unknown[] = await manager.query(`SELECT 1 FROM users WHERE lower(username) = lower($1)`, [candidate]);
      if (taken.length === 0) return candidate;
    }
    return `user_${randomBytes(6).toString('hex')}`;
  }
}
