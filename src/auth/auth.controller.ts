import { Body, Controller, Get, Headers, HttpCode, HttpStatus, Patch, Post } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiExtraModels, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { AUTH_ERRORS, ApiErrors, BODY_ERRORS } from '../common/decorators/api-errors.decorator';
import { ApiAccessToken, ApiRefreshToken, ApiTokenOptional } from '../common/decorators/api-security.decorator';
import { Audit, RequestAudit } from '../common/decorators/audit.decorator';
import { AllowAal1, AllowUnverified, CurrentUser, Public, SensitiveOperation } from '../common/decorators/auth.decorators';
import { CompleteMfaLoginDto, MfaChallengeDto, MfaPasskeyOptionsDto, PasskeyOptionsDto, PasskeySignInDto, SecondFactorDto } from '../mfa/dto/mfa.dto';
import { AccessTokenClaims } from './access-token';
import { CountOutcomes } from '../metrics/count-outcomes';
import { RateLimit } from '../rate-limit/rate-limit.decorator';
import { HashesPassword } from '../users/hashing-queue';
import { User } from '../users/entities/user.entity';
import { UserDto } from '../users/dto/user-response.dto';
import { AuthService } from './auth.service';
import { bearerToken } from './bearer-token';
import { CurrentClaims, CurrentSessionId } from './current-session.decorator';
import { IssueTokenDto, RefreshTokenDto, RevokeTokenDto, SessionsDto, UpdateSecretDto } from './dto/auth.dto';
import { StepUpDto, TokenPairDto } from './dto/token-pair.dto';

@ApiTags('tokens')
@Controller('users')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  /**
   * Log in
   *
   * @remarks Exchanges an e-mail address or username and a password for an access token and a refresh token.
   * `{username, password}` is accepted as an alias of `{identity, secret}`. A user with a verified second
   * factor gets no session yet but an MFA challenge (`mfa_required: true`, an `mfa_token` and the
   * factors): complete it with POST /users/tokens/mfa.
   */
  @Post('tokens/issue')
  @Public()
  @RateLimit('token')
  @HashesPassword()
  @CountOutcomes('logins')
  @ApiExtraModels(TokenPairDto, MfaChallengeDto)
  @ApiCreatedResponse({ description: 'A session, or the MFA challenge of a user with a second factor', schema: { oneOf: [{ $ref: getSchemaPath(TokenPairDto) }, { $ref: getSchemaPath(MfaChallengeDto) }] } })
  @ApiErrors(...BODY_ERRORS, 'INVALID_CREDENTIALS', 'ACCOUNT_DISABLED', 'RATE_LIMITED', 'SERVER_BUSY')
  issueToken(@Body() dto: IssueTokenDto, @Headers('user-agent') userAgent: string | undefined, @RequestAudit() audit: Audit): Promise<TokenPairDto | MfaChallengeDto> {
    return this.auth.login(dto, userAgent ?? '', audit);
  }

  /**
   * Complete an MFA login
   *
   * @remarks The `mfa_token` of POST /users/tokens/issue's challenge and the current `code` of a factor (`factor_id` may be left
   * out with one factor), a passkey's assertion (`webauthn` with the `challenge_id` of POST /users/tokens/mfa/passkey-options),
   * or a `recovery_code`: answers an `aal2` session. A code works once; wrong codes are counted per factor
   * (USERS_MFA_VERIFY_RATE).
   */
  @Post('tokens/mfa')
  @Public()
  @RateLimit('token')
  @CountOutcomes('logins')
  @ApiErrors(...BODY_ERRORS, 'MFA_CHALLENGE_INVALID', 'MFA_CODE_INVALID', 'MFA_FACTOR_NOT_FOUND', 'PASSKEY_CHALLENGE_INVALID', 'PASSKEY_UNKNOWN', 'PASSKEY_INVALID', 'ACCOUNT_DISABLED', 'RATE_LIMITED')
  completeMfaLogin(@Body() dto: CompleteMfaLoginDto, @Headers('user-agent') userAgent: string | undefined, @RequestAudit() audit: Audit): Promise<TokenPairDto> {
    return this.auth.completeMfaLogin(dto, userAgent ?? '', audit);
  }

  /**
   * Passkey sign-in options
   *
   * @remarks The first step of a sign-in with a passkey (no password): WebAuthn request options without `allowCredentials`
   * (the browser offers the user's discoverable passkeys of this site) and user verification required. Give `options` to
   * navigator.credentials.get() and its credential, as JSON, with `challenge_id` to POST /users/tokens/passkey.
   */
  @Post('tokens/passkey/options')
  @Public()
  @HttpCode(HttpStatus.OK)
  @RateLimit('token')
  @ApiErrors('RATE_LIMITED')
  passkeySignInOptions(): Promise<PasskeyOptionsDto> {
    return this.auth.passkeySignInOptions();
  }

  /**
   * Sign in with a passkey
   *
   * @remarks The credential navigator.credentials.get() answered for POST /users/tokens/passkey/options, as JSON: a session at
   * `aal2` with amr `webauthn` (a passkey with user verification is two factors). A challenge works once, within
   * USERS_MFA_CHALLENGE_DURATION; an assertion from an origin outside USERS_WEBAUTHN_ORIGINS, or whose signature counter did not
   * go up, is refused (401 PASSKEY_INVALID; the latter is the event user.passkey_counter_anomaly).
   */
  @Post('tokens/passkey')
  @Public()
  @RateLimit('token')
  @CountOutcomes('logins')
  @ApiErrors(...BODY_ERRORS, 'PASSKEY_CHALLENGE_INVALID', 'PASSKEY_UNKNOWN', 'PASSKEY_INVALID', 'ACCOUNT_DISABLED', 'RATE_LIMITED')
  signInWithPasskey(@Body() dto: PasskeySignInDto, @Headers('user-agent') userAgent: string | undefined, @RequestAudit() audit: Audit): Promise<TokenPairDto> {
    return this.auth.signInWithPasskey(dto, userAgent ?? '', audit);
  }

  /**
   * Passkey options for an MFA login
   *
   * @remarks To answer POST /users/tokens/issue's MFA challenge with a passkey: request options allowing the user's passkeys.
   * Send navigator.credentials.get()'s credential as `webauthn`, with `challenge_id` and the `mfa_token`, to POST /users/tokens/mfa.
   */
  @Post('tokens/mfa/passkey-options')
  @Public()
  @HttpCode(HttpStatus.OK)
  @RateLimit('token')
  @ApiErrors(...BODY_ERRORS, 'MFA_CHALLENGE_INVALID', 'MFA_FACTOR_NOT_FOUND', 'RATE_LIMITED')
  mfaPasskeyOptions(@Body() dto: MfaPasskeyOptionsDto): Promise<PasskeyOptionsDto> {
    return this.auth.mfaPasskeyOptions(dto.mfa_token);
  }

  /**
   * Passkey options for a step-up
   *
   * @remarks Request options allowing the caller's passkeys, bound to this session: send navigator.credentials.get()'s
   * credential as `webauthn`, with `challenge_id`, to POST /users/tokens/step-up.
   */
  @Post('tokens/step-up/passkey-options')
  @HttpCode(HttpStatus.OK)
  @AllowUnverified()
  @AllowAal1()
  @ApiAccessToken()
  @ApiErrors(...AUTH_ERRORS, 'MFA_FACTOR_NOT_FOUND')
  stepUpPasskeyOptions(@CurrentUser() actor: User, @CurrentClaims() claims: AccessTokenClaims): Promise<PasskeyOptionsDto> {
    return this.auth.stepUpPasskeyOptions(actor, claims);
  }

  /**
   * Step up the session with a second factor
   *
   * @remarks A factor's current `code` (an unverified factor's first code activates it, and the answer then carries the ten
   * `recovery_codes`, shown this once), a passkey's assertion (`webauthn` with the `challenge_id` of
   * POST /users/tokens/step-up/passkey-options; amr `webauthn`) or a `recovery_code`: answers a new `aal2` session in place of the caller's. Sensitive
   * operations need one within USERS_MFA_REAUTH_WINDOW.
   */
  @Post('tokens/step-up')
  @AllowUnverified()
  @AllowAal1()
  @ApiAccessToken()
  @ApiErrors(...BODY_ERRORS, ...AUTH_ERRORS, 'MFA_CODE_INVALID', 'MFA_FACTOR_NOT_FOUND', 'MFA_NOT_ENABLED', 'PASSKEY_CHALLENGE_INVALID', 'PASSKEY_UNKNOWN', 'PASSKEY_INVALID', 'RATE_LIMITED')
  stepUp(
    @Body() dto: SecondFactorDto,
    @CurrentUser() actor: User,
    @CurrentClaims() claims: AccessTokenClaims,
    @Headers('user-agent') userAgent: string | undefined,
    @RequestAudit() audit: Audit,
  ): Promise<StepUpDto> {
    return this.auth.stepUp(actor, claims, dto, userAgent ?? '', audit);
  }

  /**
   * Refresh the tokens
   *
   * @remarks Spends the refresh token (as `Authorization: Bearer …` or in the body) for a new pair. A refresh
   * token works once: presenting a spent one again revokes its whole session.
   */
  @Post('tokens/refresh')
  @Public()
  @RateLimit('refresh')
  @CountOutcomes('refreshes')
  @ApiTokenOptional()
  @ApiRefreshToken()
  @ApiBody({
    type: RefreshTokenDto,
    required: false,
    description: 'Only when the refresh token is not sent as `Authorization: Bearer …`',
    // The empty body first (also in the sorted openapi.json): Swagger UI's "Try it out" fills in the first example, and a body token wins over the header's.
    examples: { headerOnly: { summary: 'The token is in the Authorization header', value: {} }, tokenInBody: { summary: 'The token in the body', value: { refresh_token: 'eyJhbGciOi…' } } },
  })
  @ApiErrors(...BODY_ERRORS, 'REFRESH_TOKEN_INVALID', 'REFRESH_TOKEN_REUSED', 'RATE_LIMITED')
  refreshToken(@Body() dto: RefreshTokenDto, @Headers('authorization') authorization: string | undefined, @RequestAudit() audit: Audit): Promise<TokenPairDto> {
    return this.auth.refresh(dto.refresh_token ?? bearerToken(authorization), audit);
  }

  /**
   * Revoke one of the caller's sessions
   *
   * @remarks Ends the session `token_id` (an id from GET /users/tokens/refresh-tokens): its refresh token
   * stops working, and so do the access tokens it issued.
   */
  @Post('tokens/revoke')
  @HttpCode(HttpStatus.NO_CONTENT)
  @AllowUnverified()
  @AllowAal1()
  @ApiAccessToken()
  @ApiErrors(...BODY_ERRORS, ...AUTH_ERRORS, 'TOKEN_NOT_FOUND')
  async revokeRefreshToken(@Body() dto: RevokeTokenDto, @CurrentUser() actor: User, @RequestAudit() audit: Audit): Promise<void> {
    await this.auth.revoke(actor, dto.token_id, audit);
  }

  /**
   * List the caller's sessions
   *
   * @remarks One entry per live refresh token: where it signed in (the client's User-Agent), when, and
   * until when it lasts.
   */
  @Get('tokens/refresh-tokens')
  @AllowUnverified()
  @ApiAccessToken()
  @ApiErrors(...AUTH_ERRORS)
  listRefreshTokens(@CurrentUser() actor: User): Promise<SessionsDto> {
    return this.auth.sessions(actor);
  }

  /**
   * Log out everywhere
   *
   * @remarks Revokes every refresh token and every access token of the caller, on all their devices.
   */
  @Post('logout')
  @HttpCode(HttpStatus.NO_CONTENT)
  @AllowUnverified()
  @AllowAal1()
  @ApiAccessToken()
  @ApiErrors(...AUTH_ERRORS)
  async logout(@CurrentUser() actor: User, @RequestAudit() audit: Audit): Promise<void> {
    await this.auth.logout(actor, audit);
  }

  /**
   * Change the caller's password
   *
   * @remarks Needs the current password (`old_secret`); every other session of the caller is revoked,
   * the one making the change stays signed in. A user with a second factor needs a recent one (aal2).
   */
  @Patch('secret')
  @AllowUnverified()
  @SensitiveOperation()
  @ApiAccessToken()
  @ApiErrors(...BODY_ERRORS, ...AUTH_ERRORS, 'AAL2_REQUIRED', 'WRONG_SECRET', 'SERVER_BUSY')
  updateSecret(
    @Body() dto: UpdateSecretDto,
    @CurrentUser() actor: User,
    @CurrentSessionId() sessionId: string | undefined,
    @RequestAudit() audit: Audit,
  ): Promise<UserDto> {
    return this.auth.changeSecret(actor, sessionId, dto, audit);
  }
}
