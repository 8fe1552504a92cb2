import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Audit } from '../common/decorators/audit.decorator';
import { AppError } from '../common/errors/app-error';
import { EventsService } from '../events/events.service';
import { LoginLockout } from '../rate-limit/login-lockout.service';
import { User } from '../users/entities/user.entity';
import { PasswordService } from '../users/password.service';
import { UsersRepository } from '../users/users.repository';
import { UsersService } from '../users/users.service';
import { toUser } from '../users/users.mapper';
import { UserDto } from '../users/dto/user-response.dto';
import { CompleteMfaLoginDto, MfaChallengeDto, PasskeyOptionsDto, PasskeySignInDto, SecondFactorDto } from '../mfa/dto/mfa.dto';
import { PasskeysService } from '../mfa/passkeys.service';
import { MfaService } from '../mfa/mfa.service';
import { AccessTokenClaims, Assurance, assuranceOf, passkeySignIn } from './access-token';
import { IssueTokenDto, SessionsDto, UpdateSecretDto } from './dto/auth.dto';
import { StepUpDto, TokenPairDto } from './dto/token-pair.dto';
import { RefreshTokensRepository } from './refresh-tokens.repository';
import { TokensService, tokenSubject } from './tokens.service';

const now = () => Math.floor(Date.now() / 1000);

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersRepository,
    private readonly passwords: PasswordService,
    private readonly tokens: TokensService,
    private readonly refreshTokens: RefreshTokensRepository,
    private readonly dataSource: DataSource,
    private readonly events: EventsService,
    private readonly lockout: LoginLockout,
    private readonly usersService: UsersService,
    private readonly mfa: MfaService,
    private readonly passkeys: PasskeysService,
  ) {}

  /**
   * Login with e-mail or username. Unknown identities cost one decoy hash, like a wrong password, and so
   * do attempts on an account locked after too many failures (LoginLockout). A user with a verified
   * second factor gets an MFA challenge instead of a session (completed by completeMfaLogin).
   */
  async login(dto: IssueTokenDto, client: string, audit: Audit): Promise<TokenPairDto | MfaChallengeDto> {
    const identity = dto.identity || dto.username || dto.user_name;
    const secret = dto.secret ?? dto.password;
    if (!identity || !secret) {
      throw new AppError('VALIDATION_FAILED', 'identity and secret are required', [
        ...(identity ? [] : [{ field: 'identity', problem: 'is required' }]),
        ...(secret ? [] : [{ field: 'secret', problem: 'is required' }]),
      ]);
    }
    const user = await this.authenticate(identity, secret);
    if (user.mfaEnabled) return this.mfa.loginChallenge(user);
    return this.tokens.issue(tokenSubject(user), client.slice(0, 255), audit);
  }

  /**
   * The second step of a login with MFA (a password's, or a native OAuth sign-in's): the challenge's
   * `mfa_token` and a factor's code (or a recovery code) start an `aal2` session, whose amr is the first
   * factor and then the second.
   */
  async completeMfaLogin(dto: CompleteMfaLoginDto, client: string, audit: Audit): Promise<TokenPairDto> {
    const challenge = this.mfa.openLoginChallenge(dto.mfa_token);
    const user = await this.users.findById(challenge.userId);
    if (!user || user.status === 'deleted') throw new AppError('MFA_CHALLENGE_INVALID');
    if (user.status === 'disabled') throw new AppError('ACCOUNT_DISABLED');
    const factor = await this.mfa.verifySecondFactor(user, dto, { ...audit, actorId: user.id }, { verifiedOnly: true });
    const assurance: Assurance = { aal: 'aal2', amr: [{ method: challenge.method, timestamp: challenge.passwordAt }, { method: factor.method, timestamp: now() }] };
    return this.tokens.issue(tokenSubject(user), client.slice(0, 255), { ...audit, actorId: user.id }, undefined, assurance);
  }

  /** Options to sign in with a passkey: no allowCredentials, the authenticator offers the user's discoverable credentials. */
  passkeySignInOptions(): Promise<PasskeyOptionsDto> {
    return this.passkeys.authenticationOptions();
  }

  /**
   * Signs in with a passkey, no password: the assertion names the passkey, hence the user. The session
   * is `aal2` with amr `webauthn` (see passkeySignIn); the event user.passkey_login says which passkey.
   */
  async signInWithPasskey(dto: PasskeySignInDto, client: string, audit: Audit): Promise<TokenPairDto> {
    const passkey = await this.passkeys.verifyAssertion(dto.challenge_id, dto.response, { purpose: 'sign_in' }, audit);
    const user = await this.users.findById(passkey.user_id);
    if (!user || user.status === 'deleted') throw new AppError('PASSKEY_UNKNOWN');
    if (user.status === 'disabled') throw new AppError('ACCOUNT_DISABLED');
    const as = { ...audit, actorId: user.id };
    return this.dataSource.transaction(async (manager) => {
      const pair = await this.tokens.issue(tokenSubject(user), client.slice(0, 255), as, manager, passkeySignIn());
      await this.events.record(manager, { operation: 'user.passkey_login', userId: user.id, audit: as, data: { factor_id: passkey.id, friendly_name: passkey.friendly_name } });
      return pair;
    });
  }

  /** Options to answer a password login's MFA challenge with one of the user's passkeys. */
  async mfaPasskeyOptions(mfaToken: string): Promise<PasskeyOptionsDto> {
    const challenge = this.mfa.openLoginChallenge(mfaToken);
    return this.passkeys.authenticationOptions({ userId: challenge.userId });
  }

  /** Options to step the caller's session up with one of their passkeys (bound to this session). */
  stepUpPasskeyOptions(actor: User, claims: AccessTokenClaims): Promise<PasskeyOptionsDto> {
    return this.passkeys.authenticationOptions({ userId: actor.id, sessionId: claims.sid });
  }

  /**
   * Steps the caller's session up to `aal2` with a second factor (a factor's code, which activates
   * an unverified factor, or a recovery code): a new session whose amr is the old one's plus the second
   * factor, in place of the caller's (revoked). Answers the recovery codes made by a first activation.
   */
  async stepUp(actor: User, claims: AccessTokenClaims, dto: SecondFactorDto, client: string, audit: Audit): Promise<StepUpDto> {
    const factor = await this.mfa.verifySecondFactor(actor, dto, audit, { sessionId: claims.sid });
    const previous = assuranceOf(claims).amr.filter(({ method }) => method !== factor.method);
    const assurance: Assurance = { aal: 'aal2', amr: [...previous, { method: factor.method, timestamp: now() }] };
    const pair = await this.dataSource.transaction(async (manager) => {
      const issued = await this.tokens.issue(tokenSubject(actor), client.slice(0, 255), audit, manager, assurance);
      if (await this.refreshTokens.revokeFamily(manager, actor.id, claims.sid)) {
        await this.events.record(manager, { operation: 'user.revoke_token', userId: actor.id, audit, data: { session_id: claims.sid } });
      }
      return issued;
    });
    return { ...pair, ...(factor.recoveryCodes ? { recovery_codes: factor.recoveryCodes } : {}) };
  }

  /** The enabled user whose e-mail or username and password these are (the checks of a login, without its session). */
  async authenticate(identity: string, secret: string): Promise<User> {
    this.passwords.assertCanHash();
    const user = await this.users.findByIdentityWithHash(identity);
    // Counted before the password is checked; a locked account's attempt costs the decoy hash, like an unknown identity.
    const attempt = await this.lockout.attempt(user ? `user:${user.id}` : `identity:${identity.trim().toLowerCase()}`);
    const matches = await this.passwords.verify(attempt.allowed ? user?.passwordHash : undefined, secret);
    if (matches) await attempt.succeeded();
    if (!user || !matches || user.status === 'deleted') throw new AppError('INVALID_CREDENTIALS');
    if (user.status === 'disabled') throw new AppError('ACCOUNT_DISABLED');

    if (this.passwords.needsRehash(user.passwordHash as string)) {
      await this.users.update(user.id, { passwordHash: await this.passwords.hash(secret) });
    }
    delete user.passwordHash;
    return user;
  }

  refresh(token: string | undefined, audit: Audit): Promise<TokenPairDto> {
    if (!token) throw new AppError('REFRESH_TOKEN_INVALID', 'give the refresh token as a bearer token or as refresh_token');
    return this.tokens.rotate(token, audit);
  }

  async sessions(actor: User): Promise<SessionsDto> {
    const rows = await this.refreshTokens.listSessions(actor.id);
    return {
      refresh_tokens: rows.map((row) => ({
        id: row.id,
        description: row.description,
        created_at: row.created_at.toISOString(),
        expires_at: row.expires_at.toISOString(),
      })),
    };
  }

  async revoke(actor: User, sessionId: string, audit: Audit): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      if (!(await this.refreshTokens.revokeFamily(manager, actor.id, sessionId))) throw new AppError('TOKEN_NOT_FOUND');
      await this.events.record(manager, { operation: 'user.revoke_token', userId: actor.id, audit, data: { session_id: sessionId } });
    });
  }

  /**
   * Ends every session of the caller: refresh tokens and, through tokens_revoked_at, access tokens.
   * With `keepSessionId`, every session but that one (their access tokens die with their sessions).
   */
  async logout(actor: User, audit: Audit, keepSessionId?: string): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await this.refreshTokens.revokeAll(actor.id, keepSessionId, manager);
      if (!keepSessionId) await this.users.update(actor.id, { tokensRevokedAt: () => 'clock_timestamp()' }, { manager });
      await this.events.record(manager, { operation: 'user.logout', userId: actor.id, audit, data: keepSessionId ? { kept_session_id: keepSessionId } : {} });
    });
  }

  /** Changes the caller's password and revokes every other session (hashed before the transaction: no lock is held while argon2 runs). */
  async changeSecret(actor: User, sessionId: string | undefined, dto: UpdateSecretDto, audit: Audit): Promise<UserDto> {
    const current = await this.users.findByIdWithHash(actor.id);
    if (!(await this.passwords.verify(current?.passwordHash, dto.old_secret))) throw new AppError('WRONG_SECRET');
    return this.setSecret(actor, sessionId, dto.new_secret, 'new_secret', audit);
  }

  /**
   * Changes the caller's password without the current one when their session's login is recent
   * (USERS_REAUTH_WINDOW, the rule of a self-service e-mail change), else with `currentSecret`; every
   * other session is revoked. The GoTrue API's PUT /user: after a recovery or invite link the user
   * has a fresh session and no (known) password.
   */
  async changeSecretReauthenticated(actor: User, sessionId: string | undefined, secret: string, currentSecret: string | undefined, audit: Audit): Promise<UserDto> {
    await this.usersService.assertRecentlyAuthenticated(actor, sessionId, currentSecret);
    return this.setSecret(actor, sessionId, secret, 'password', audit);
  }

  private async setSecret(actor: User, sessionId: string | undefined, secret: string, field: string, audit: Audit): Promise<UserDto> {
    this.passwords.assertAcceptable(secret, field, actor);
    const passwordHash = await this.passwords.hash(secret);
    return this.dataSource.transaction(async (manager) => {
      await this.refreshTokens.revokeAll(actor.id, sessionId, manager);
      const user = await this.users.update(actor.id, { passwordHash, updatedBy: actor.id }, { manager });
      await this.events.record(manager, { operation: 'user.update_secret', userId: actor.id, audit, data: { other_sessions_revoked: true } });
      return toUser(user as User);
    });
  }
}
