import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { DataSource, EntityManager } from 'typeorm';
import { AuthService } from '../auth/auth.service';
import { TokenPairDto } from '../auth/dto/token-pair.dto';
import { PasswordResetService } from '../auth/password-reset.service';
import { TokensService, tokenSubject } from '../auth/tokens.service';
import { AccessTokenClaims, assuranceOf, firstFactor } from '../auth/access-token';
import { MfaPolicy } from '../mfa/mfa-policy.service';
import { MfaService } from '../mfa/mfa.service';
import { Audit } from '../common/decorators/audit.decorator';
import { AppError } from '../common/errors/app-error';
import { authConfig } from '../config/auth.config';
import { UserDto } from '../users/dto/user-response.dto';
import { User } from '../users/entities/user.entity';
import { EmailVerificationService } from '../users/email-verification.service';
import { InvitationsService } from '../users/invitations.service';
import { UsersRepository } from '../users/users.repository';
import { UsersService } from '../users/users.service';
import { toUser } from '../users/users.mapper';
import {
  GoTrueChallengeAnswerDto,
  GoTrueEnrollDto,
  GoTrueEnrolledDto,
  GoTrueInviteDto,
  GoTrueUnenrolledDto,
  GoTrueVerifyFactorDto,
  GoTrueRecoverDto,
  GoTrueSessionDto,
  GoTrueSettingsDto,
  GoTrueSignupDto,
  GoTrueTokenDto,
  GoTrueUpdateUserDto,
  GoTrueUserDto,
  GrantType,
  LogoutScope,
  VerifyType,
} from './dto/gotrue.dto';
import { EMAIL_NOT_CONFIRMED, GoTrueError, SIGNUP_DISABLED, redirectError } from './gotrue-errors';
import { GoTrueLinks } from './gotrue-links';
import { GoTrueOAuth } from './gotrue-oauth';
import { OAuthAnswer, OAuthService } from '../oauth/oauth.service';
import { OAuthRequest } from '../oauth/state-store';
import { accessTokenClaims, toGoTrueSession, toGoTrueUser } from './gotrue.mapper';

/**
 * The GoTrue API over our services: it maps GoTrue's requests and answers and holds no rule of its own.
 * Registration, the password policy, login (with the decoy hash), refresh rotation and reuse detection,
 * sessions, link tokens, mails, events and audit are those of UsersService, AuthService, TokensService,
 * PasswordResetService, EmailVerificationService and InvitationsService; second factors those of
 * MfaService, MfaPolicy and AuthService.stepUp. As in Supabase Auth, a password sign-in of a user with
 * a factor is an `aal1` session, which the client steps up with /factors/{id}/challenge and /verify.
 */
@Injectable()
export class GoTrueService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly users: UsersService,
    private readonly usersRepository: UsersRepository,
    private readonly auth: AuthService,
    private readonly tokens: TokensService,
    private readonly passwordReset: PasswordResetService,
    private readonly verification: EmailVerificationService,
    private readonly invitations: InvitationsService,
    private readonly links: GoTrueLinks,
    private readonly gotrueOAuth: GoTrueOAuth,
    private readonly oauthService: OAuthService,
    private readonly mfa: MfaService,
    private readonly mfaPolicy: MfaPolicy,
    @Inject(authConfig.KEY) private readonly authSettings: ConfigType<typeof authConfig>,
  ) {}

  settings(): GoTrueSettingsDto {
    const autoconfirm = this.authSettings.allowUnverifiedUser;
    return {
      external: { email: true, bitbucket: false, github: false, gitlab: false, google: false, ...Object.fromEntries(this.oauthService.settings().providers.map(({ name }) => [name, true])), phone: false },
      disable_signup: !this.authSettings.allowSelfRegister,
      mailer_autoconfirm: autoconfirm,
      autoconfirm,
      phone_autoconfirm: false,
      sms_provider: '',
      saml_enabled: false,
    };
  }

  /**
   * POST /signup: our registration (the same checks, mail and events), by address and password; the
   * confirmation mail links to /verify. The user alone, or a session too when no verification is
   * required (GoTrue's MAILER_AUTOCONFIRM, our USERS_ALLOW_UNVERIFIED_USER).
   */
  async signup(dto: GoTrueSignupDto, redirectTo: string | undefined, client: string, audit: Audit): Promise<GoTrueUserDto | GoTrueSessionDto> {
    const registration = {
      email: dto.email,
      first_name: dto.email.split('@')[0],
      last_name: '',
      credentials: { secret: dto.password },
      metadata: dto.data ?? {},
    };
    const created = await this.users.register(registration, undefined, audit, this.links.mailLink('confirmation', redirectTo)).catch((error: unknown) => {
      // Anonymous registration refused: self-registration is off (GoTrue's DISABLE_SIGNUP).
      throw error instanceof AppError && error.code === 'TOKEN_MISSING' ? SIGNUP_DISABLED() : error;
    });
    const user = (await this.usersRepository.findById(created.id)) as User;
    // A session only when it may be used at once (GoTrue's MAILER_AUTOCONFIRM): the verification rule's.
    if (this.users.mustVerifyFirst(user)) return this.user(created);
    return this.session(await this.tokens.issue(tokenSubject(user), client, audit), created);
  }

  /**
   * GET /authorize: our OAuth sign-in (GET /oauth/authorize/{provider}: state, PKCE with the provider),
   * whose callback hands the session to `redirect_to` as GoTrue does (see GoTrueOAuth).
   */
  authorize(provider: string, redirectTo: string | undefined, codeChallenge: string | undefined, method: string | undefined, request: OAuthRequest): Promise<OAuthAnswer> {
    return this.oauthService.authorize(provider, request, { redirectTo: this.links.redirect(redirectTo), handoff: this.gotrueOAuth.handoff(codeChallenge, method) });
  }

  /** GET /callback: the OAuth module's callback, for the provider the state names. */
  callback(state: string | undefined, request: OAuthRequest, audit: Audit): Promise<OAuthAnswer> {
    return this.oauthService.callback(this.oauthService.providerOfState(state), request, audit);
  }

  /** POST /token: a password sign-in, a refresh, or a PKCE code's exchange, each as our login and rotation do it. */
  async token(grant: GrantType | undefined, dto: GoTrueTokenDto, client: string, audit: Audit): Promise<GoTrueSessionDto> {
    if (!grant) throw new AppError('VALIDATION_FAILED', 'unsupported_grant_type', [{ field: 'grant_type', problem: 'must be password, refresh_token or pkce' }]);
    if (grant === 'pkce') {
      // The code stands for the OAuth sign-in's session: its refresh token, rotated now (once).
      return this.sessionOfPair(await this.auth.refresh(this.gotrueOAuth.redeem(dto.auth_code, dto.code_verifier), audit));
    }
    if (grant === 'refresh_token') {
      const pair = await this.auth.refresh(dto.refresh_token, audit);
      return this.sessionOfPair(pair);
    }
    const email = dto.email ?? dto.username;
    if (!email || !dto.password) throw new AppError('VALIDATION_FAILED', 'email and password are required', [{ field: email ? 'password' : 'email', problem: 'is required' }]);
    const user = await this.auth.authenticate(email, dto.password);
    // The verification rule would refuse every request of the session: GoTrue then gives none, and answers 400
    // (the same rule on a later request is 403, as the guard's EMAIL_NOT_VERIFIED maps).
    if (this.users.mustVerifyFirst(user)) throw EMAIL_NOT_CONFIRMED();
    return this.session(await this.tokens.issue(tokenSubject(user), client, audit), toUser(user));
  }

  async user(user: UserDto): Promise<GoTrueUserDto> {
    const [facts, factors] = await Promise.all([this.usersRepository.signInFacts(user.id), this.mfa.list(user.id)]);
    return toGoTrueUser(user, facts, this.authSettings.audience, factors);
  }

  /** POST /factors: our TOTP enrolment (phone and WebAuthn factors are not offered). */
  async enrollFactor(actor: User, claims: AccessTokenClaims, dto: GoTrueEnrollDto, audit: Audit): Promise<GoTrueEnrolledDto> {
    if (dto.factor_type !== 'totp') throw new GoTrueError(HttpStatus.UNPROCESSABLE_ENTITY, 'mfa_factor_type_not_supported', `${dto.factor_type} factors are not supported: only totp`);
    const { factor, totp } = await this.mfa.enroll(actor, assuranceOf(claims), { friendlyName: dto.friendly_name, issuer: dto.issuer }, audit);
    return { id: factor.id, type: 'totp', friendly_name: factor.friendly_name ?? '', totp };
  }

  /** POST /factors/{id}/challenge: a challenge of the factor for this session (stateless: sealed). */
  async challengeFactor(actor: User, claims: AccessTokenClaims, factorId: string): Promise<GoTrueChallengeAnswerDto> {
    const factor = (await this.mfa.list(actor.id)).find(({ id }) => id === factorId);
    if (factor?.factor_type === 'webauthn') throw new GoTrueError(HttpStatus.UNPROCESSABLE_ENTITY, 'mfa_factor_type_not_supported', 'passkeys are challenged through POST /users/tokens/step-up/passkey-options, not here');
    const challenge = await this.mfa.factorChallenge(actor, factorId, claims.sid);
    return { id: challenge.id, type: 'totp', expires_at: challenge.expiresAt };
  }

  /** POST /factors/{id}/verify: the challenge's code steps the session up (AuthService.stepUp): a new `aal2` session. */
  async verifyFactor(actor: User, claims: AccessTokenClaims, factorId: string, dto: GoTrueVerifyFactorDto, client: string, audit: Audit): Promise<GoTrueSessionDto> {
    this.mfa.assertFactorChallenge(actor, factorId, claims.sid, dto.challenge_id);
    const { recovery_codes: _recoveryCodes, ...pair } = await this.auth.stepUp(actor, claims, { factor_id: factorId, code: dto.code }, client, audit);
    return this.sessionOfPair(pair);
  }

  /** DELETE /factors/{id}: our removal (a verified factor needs a recent aal2). */
  async unenrollFactor(actor: User, claims: AccessTokenClaims, factorId: string, audit: Audit): Promise<GoTrueUnenrolledDto> {
    const factor = await this.mfa.remove(actor, assuranceOf(claims), actor.id, factorId, audit);
    return { id: factor.id };
  }

  /**
   * PUT /user: password (our change of password, every other session ends), then `data` (merged
   * into our metadata), then e-mail (our change of address: a verification link to the new one,
   * which opens /verify?type=email_change). Each is the service's own operation, with its checks.
   */
  async updateUser(actor: User, claims: AccessTokenClaims | undefined, dto: GoTrueUpdateUserDto, redirectTo: string | undefined, audit: Audit): Promise<GoTrueUserDto> {
    const sessionId = claims?.sid;
    // A new password or address is a sensitive operation (#16): a recent second factor for a user who has one.
    if (dto.password !== undefined || (dto.email !== undefined && dto.email !== actor.email)) this.mfaPolicy.assertRecentSecondFactor(actor, assuranceOf(claims));
    let view = toUser(actor);
    if (dto.password !== undefined) view = await this.auth.changeSecretReauthenticated(actor, sessionId, dto.password, dto.current_password, audit);
    if (dto.data !== undefined) {
      const metadata = Object.fromEntries(Object.entries({ ...view.metadata, ...dto.data }).filter(([, value]) => value !== null));
      view = await this.users.update(actor, actor.id, { metadata }, audit);
    }
    if (dto.email !== undefined && dto.email !== view.email) {
      view = await this.users.updateEmail(actor, actor.id, { email: dto.email, password: dto.current_password }, sessionId, audit, this.links.mailLink('email_change', redirectTo));
    }
    return this.user(view);
  }

  /** POST /logout: `global` is our log-out everywhere, `local` revokes this session, `others` every other one. */
  async logout(actor: User, sessionId: string | undefined, scope: LogoutScope, audit: Audit): Promise<void> {
    if (scope === 'global' || !sessionId) return this.auth.logout(actor, audit);
    if (scope === 'others') return this.auth.logout(actor, audit, sessionId);
    try {
      await this.auth.revoke(actor, sessionId, audit);
    } catch (error) {
      // Already ended: signing out of it again is no error (GoTrue answers 204).
      if (!(error instanceof AppError && error.code === 'TOKEN_NOT_FOUND')) throw error;
    }
  }

  /** POST /recover: our reset request (the same answer whether or not the account exists); the link opens /verify?type=recovery. */
  async recover(dto: GoTrueRecoverDto, redirectTo: string | undefined, audit: Audit): Promise<Record<string, never>> {
    await this.passwordReset.request(dto.email, audit, this.links.mailLink('recovery', redirectTo));
    return {};
  }

  /** POST /invite (admin): our invitation; the link opens /verify?type=invite. */
  async invite(dto: GoTrueInviteDto, actor: User, redirectTo: string | undefined, audit: Audit): Promise<GoTrueUserDto> {
    const { user } = await this.invitations.invite({ email: dto.email }, actor, audit, this.links.mailLink('invite', redirectTo));
    return this.user(user);
  }

  /**
   * POST and GET /verify: spends the link's token (a verification token for `signup` and
   * `email_change`, a recovery or invite token for the others), which verifies the address it was
   * mailed to, and starts a session, in one transaction: GoTrue signs the user in by the link.
   */
  async verify(type: VerifyType, token: string | undefined, client: string, audit: Audit, password?: string): Promise<GoTrueSessionDto> {
    if (!token) throw new AppError('VALIDATION_FAILED', 'token or token_hash is required', [{ field: 'token', problem: 'is required' }]);
    if (password !== undefined) {
      // An invitation (or recovery) accepted with its password: our password reset by link, then a session.
      const user = await this.passwordReset.reset(token, password, password, audit);
      return this.session(await this.tokens.issue(tokenSubject(user), client, { ...audit, actorId: user.id }), toUser(user));
    }
    const { pair, user } = await this.dataSource.transaction(async (manager: EntityManager) => {
      const user = type === 'signup' || type === 'email_change' ? await this.verification.confirm(manager, token, audit) : await this.passwordReset.redeem(manager, token, audit);
      return { user, pair: await this.tokens.issue(tokenSubject(user), client, { ...audit, actorId: user.id }, manager, firstFactor('otp')) };
    });
    return this.session(pair, toUser(user));
  }

  /** GET /verify's redirect: the session in the fragment, or the error there (GoTrue's implicit flow). */
  async verifyRedirect(type: VerifyType, token: string, redirectTo: string | undefined, client: string, audit: Audit): Promise<string> {
    const redirect = this.links.redirect(redirectTo);
    try {
      const session = await this.verify(type, token, client, audit);
      return this.links.withFragment(redirect, {
        access_token: session.access_token,
        expires_at: String(session.expires_at),
        expires_in: String(session.expires_in),
        refresh_token: session.refresh_token,
        token_type: session.token_type,
        type,
      });
    } catch (error) {
      const refusal = redirectError(error);
      if (!refusal) throw error;
      return this.links.withFragment(redirect, refusal);
    }
  }

  private async sessionOfPair(pair: TokenPairDto): Promise<GoTrueSessionDto> {
    const { sub } = accessTokenClaims(pair.access_token);
    const user = await this.usersRepository.findById(sub);
    if (!user) throw new AppError('REFRESH_TOKEN_INVALID');
    return this.session(pair, toUser(user));
  }

  private async session(pair: TokenPairDto, user: UserDto): Promise<GoTrueSessionDto> {
    return toGoTrueSession(pair, await this.user(user));
  }
}
