import { Body, Controller, Delete, Get, Headers, HttpCode, HttpStatus, Post, Put, Query, Redirect, Req, Res, UseFilters, applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiFoundResponse, ApiNoContentResponse, ApiOkResponse, ApiResponse, ApiSeeOtherResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { answer } from '../oauth/oauth.controller';
import { OAuthRequest } from '../oauth/state-store';
import { AccessTokenClaims } from '../auth/access-token';
import { CurrentClaims, CurrentSessionId } from '../auth/current-session.decorator';
import { UuidParam } from '../common/decorators/id-param.decorator';
import { ApiAccessToken } from '../common/decorators/api-security.decorator';
import { Audit, RequestAudit } from '../common/decorators/audit.decorator';
import { AllowAal1, AllowUnverified, CurrentUser, Public, Roles } from '../common/decorators/auth.decorators';
import { RateLimitName } from '../config/rate-limit.config';
import { ChoosingRequest } from '../rate-limit/rate-limit.guard';
import { RateLimit, RateLimitPer } from '../rate-limit/rate-limit.decorator';
import { User } from '../users/entities/user.entity';
import { toUser } from '../users/users.mapper';
import {
  GoTrueAuthorizeQueryDto,
  GoTrueChallengeAnswerDto,
  GoTrueChallengeDto,
  GoTrueEnrollDto,
  GoTrueEnrolledDto,
  GoTrueUnenrolledDto,
  GoTrueVerifyFactorDto,
  GoTrueErrorDto,
  GoTrueInviteDto,
  GoTrueLogoutQueryDto,
  GoTrueRecoverDto,
  GoTrueRedirectQueryDto,
  GoTrueSessionDto,
  GoTrueSettingsDto,
  GoTrueSignupDto,
  GoTrueTokenDto,
  GoTrueTokenQueryDto,
  GoTrueUpdateUserDto,
  GoTrueUserDto,
  GoTrueVerifyDto,
  GoTrueVerifyQueryDto,
} from './dto/gotrue.dto';
import { GoTrueExceptionFilter } from './gotrue-exception.filter';
import { GoTrueService } from './gotrue.service';

/** GoTrue's error answers of a route, each with GoTrue's body (see gotrue-errors.ts for the codes); a route with a body also has 413 and 415. */
function ApiGoTrueErrors(...statuses: number[]) {
  return applyDecorators(
    ...[...new Set([...statuses, 500, 503])].map((status) => ApiResponse({ status, type: GoTrueErrorDto, description: 'GoTrue\'s error body: `error_code` says why' })),
  );
}

const client = (userAgent: string | undefined) => (userAgent ?? '').slice(0, 255);


/**
 * POST /token's limit by its grant, that of its native twin, so that both APIs count together: a refresh
 * is POST /users/tokens/refresh's (refresh), a password sign-in POST /users/tokens/issue's (token), and
 * a PKCE code's exchange, which ends an OAuth sign-in, counts as a sign-in too (token).
 */
function tokenLimits({ query, body }: ChoosingRequest): RateLimitName[] {
  const grant = query?.grant_type ?? (body as { grant_type?: unknown } | undefined)?.grant_type;
  return grant === 'refresh_token' ? ['refresh'] : ['token'];
}

/**
 * GoTrue's (Supabase Auth's) API, under GOTRUE_COMPAT_PREFIX (default /auth/v1), so that its clients
 * (@supabase/auth-js, gotrue-js) work unchanged over our users and sessions. Its tokens are ours: an
 * access token from either API works on the other, and a session ended on one is ended on both.
 */
@ApiTags('gotrue')
@Controller()
@UseFilters(GoTrueExceptionFilter)
export class GoTrueController {
  constructor(private readonly gotrue: GoTrueService) {}

  /**
   * GoTrue: the public settings
   *
   * @remarks Which providers are enabled, whether sign-up is open (USERS_ALLOW_SELF_REGISTER) and whether addresses are confirmed
   * automatically (USERS_ALLOW_UNVERIFIED_USER).
   */
  @Get('settings')
  @Public()
  @ApiGoTrueErrors()
  getGoTrueSettings(): GoTrueSettingsDto {
    return this.gotrue.settings();
  }

  /**
   * GoTrue: sign up
   *
   * @remarks Our registration by e-mail address and password (`data` becomes the user's metadata). The confirmation mail links to
   * /verify?type=signup. Answers the user, or a session when no confirmation is required. The `validate` webhook
   * (WEBHOOK_URL) refuses it with 422 `signup_refused_by_hook` (the receiver's message), or 503 `hook_timeout` when it did not answer.
   */
  @Post('signup')
  @Public()
  @RateLimit('signup')
  @HttpCode(HttpStatus.OK)
  @ApiExtraModels(GoTrueUserDto, GoTrueSessionDto)
  @ApiOkResponse({ description: 'The new user, or a session with it', schema: { oneOf: [{ $ref: getSchemaPath(GoTrueUserDto) }, { $ref: getSchemaPath(GoTrueSessionDto) }] } })
  @ApiGoTrueErrors(400, 422, 429, 413, 415, 503)
  signUp(@Body() dto: GoTrueSignupDto, @Query() query: GoTrueRedirectQueryDto, @Headers('user-agent') userAgent: string | undefined, @RequestAudit() audit: Audit): Promise<GoTrueUserDto | GoTrueSessionDto> {
    return this.gotrue.signup(dto, query.redirect_to, client(userAgent), audit);
  }

  /**
   * GoTrue: sign in, or refresh the session
   *
   * @remarks `grant_type=password` with `email` and `password`, `grant_type=refresh_token` with `refresh_token`, or `grant_type=pkce`
   * with the `auth_code` of an OAuth sign-in and its `code_verifier`; the body as JSON or form-encoded. A refresh token works once; presenting a spent one again ends its session.
   */
  @Post('token')
  @Public()
  @RateLimitPer(tokenLimits)
  @HttpCode(HttpStatus.OK)
  @ApiOkResponse({ type: GoTrueSessionDto })
  @ApiGoTrueErrors(400, 403, 429, 413, 415)
  issueGoTrueToken(@Query() query: GoTrueTokenQueryDto, @Body() dto: GoTrueTokenDto, @Headers('user-agent') userAgent: string | undefined, @RequestAudit() audit: Audit): Promise<GoTrueSessionDto> {
    return this.gotrue.token(query.grant_type ?? dto?.grant_type, dto ?? {}, client(userAgent), audit);
  }

  /**
   * GoTrue: sign in with a provider
   *
   * @remarks Our OAuth sign-in (`provider`: github, google, oidc when enabled). Once signed in at the provider, the browser lands on
   * `redirect_to` (if allowed, else SITE_URL) with the session in the fragment, or with `?code=` when a `code_challenge` was given
   * (PKCE: exchange it with POST /token?grant_type=pkce). Failures land there too, as `error`, `error_code`, `error_description`.
   */
  @Get('authorize')
  @Public()
  @ApiFoundResponse({ description: "To the provider's authorization page, with this browser's state cookie" })
  @ApiSeeOtherResponse({ description: 'The provider is not enabled: to the UI error page (OAUTH_UI_ERROR_URL)' })
  @ApiGoTrueErrors(400)
  async authorizeGoTrue(@Query() query: GoTrueAuthorizeQueryDto, @Req() request: OAuthRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    answer(reply, await this.gotrue.authorize(query.provider, query.redirect_to, query.code_challenge, query.code_challenge_method, request));
  }

  /**
   * GoTrue: the providers' callback
   *
   * @remarks For providers registered with GoTrue's callback URL (`EXTERNAL_<P>_REDIRECT_URI` = this route): the same as
   * GET /oauth/callback/{provider}, the provider named by the sign-in's state.
   */
  @Get('callback')
  @Public()
  @ApiFoundResponse({ description: 'Signed in: to redirect_to, with the session in the fragment or a PKCE code' })
  @ApiSeeOtherResponse({ description: 'Refused: to redirect_to with the error, or to the UI error page when the state is not this browser\'s' })
  @ApiGoTrueErrors(400)
  async goTrueCallback(@Query('state') state: string | undefined, @Req() request: OAuthRequest, @RequestAudit() audit: Audit, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    answer(reply, await this.gotrue.callback(state, request, audit));
  }

  /**
   * GoTrue: the signed-in user
   *
   * @remarks The user of the access token (from this API or from POST /users/tokens/issue), as GoTrue's user object.
   */
  @Get('user')
  @AllowUnverified()
  @AllowAal1()
  @ApiAccessToken()
  @ApiOkResponse({ type: GoTrueUserDto })
  @ApiGoTrueErrors(401, 403)
  getGoTrueUser(@CurrentUser() actor: User): Promise<GoTrueUserDto> {
    return this.gotrue.user(toUser(actor));
  }

  /**
   * GoTrue: update the signed-in user
   *
   * @remarks `password` (with a sign-in within USERS_REAUTH_WINDOW, or `current_password`; every other session ends), `data` (merged into
   * the metadata) and `email` (unverified until the link mailed to the new address is followed). A user with a second factor
   * needs a recent one (aal2 within USERS_MFA_REAUTH_WINDOW) to change the password or the address.
   */
  @Put('user')
  // Not for an unverified user where verification is required (the guard's rule, as for PATCH /users/{id}):
  // GoTrue gives such a user no session, so only a token of our own API could try.
  @ApiAccessToken()
  @ApiOkResponse({ type: GoTrueUserDto })
  @ApiGoTrueErrors(400, 401, 403, 422, 429, 413, 415)
  updateGoTrueUser(
    @Body() dto: GoTrueUpdateUserDto,
    @Query() query: GoTrueRedirectQueryDto,
    @CurrentUser() actor: User,
    @CurrentClaims() claims: AccessTokenClaims | undefined,
    @RequestAudit() audit: Audit,
  ): Promise<GoTrueUserDto> {
    return this.gotrue.updateUser(actor, claims, dto, query.redirect_to, audit);
  }

  /**
   * GoTrue: enrol a second factor
   *
   * @remarks auth-js's mfa.enroll: a TOTP factor (`factor_type: totp`; phone and WebAuthn factors are not offered), unverified until
   * POST /factors/{id}/verify, with its secret, URI and QR code (SVG). A user with a verified factor needs an aal2 session.
   */
  @Post('factors')
  @HttpCode(HttpStatus.OK)
  @ApiAccessToken()
  @ApiOkResponse({ type: GoTrueEnrolledDto })
  @ApiGoTrueErrors(400, 401, 403, 409, 422, 413, 415)
  enrollGoTrueFactor(@Body() dto: GoTrueEnrollDto, @CurrentUser() actor: User, @CurrentClaims() claims: AccessTokenClaims, @RequestAudit() audit: Audit): Promise<GoTrueEnrolledDto> {
    return this.gotrue.enrollFactor(actor, claims, dto, audit);
  }

  /**
   * GoTrue: challenge a factor
   *
   * @remarks auth-js's mfa.challenge: a challenge of the factor for this session, to answer with POST /factors/{id}/verify before
   * `expires_at` (USERS_MFA_CHALLENGE_DURATION).
   */
  @Post('factors/:factorId/challenge')
  @HttpCode(HttpStatus.OK)
  @AllowAal1()
  @ApiAccessToken()
  @ApiOkResponse({ type: GoTrueChallengeAnswerDto })
  @ApiGoTrueErrors(400, 401, 403, 404, 413, 415)
  challengeGoTrueFactor(@UuidParam('factorId') factorId: string, @Body() _dto: GoTrueChallengeDto, @CurrentUser() actor: User, @CurrentClaims() claims: AccessTokenClaims): Promise<GoTrueChallengeAnswerDto> {
    return this.gotrue.challengeFactor(actor, claims, factorId);
  }

  /**
   * GoTrue: verify a factor's challenge
   *
   * @remarks auth-js's mfa.verify: the factor's current code for the challenge. Verifies an unverified factor, and answers a new
   * `aal2` session in place of this one (its access token's `amr` ends with `totp`). A code works once; attempts are limited per
   * factor (USERS_MFA_VERIFY_RATE).
   */
  @Post('factors/:factorId/verify')
  @HttpCode(HttpStatus.OK)
  @AllowAal1()
  @ApiAccessToken()
  @ApiOkResponse({ type: GoTrueSessionDto })
  @ApiGoTrueErrors(400, 401, 403, 404, 422, 429, 413, 415)
  verifyGoTrueFactor(
    @UuidParam('factorId') factorId: string,
    @Body() dto: GoTrueVerifyFactorDto,
    @CurrentUser() actor: User,
    @CurrentClaims() claims: AccessTokenClaims,
    @Headers('user-agent') userAgent: string | undefined,
    @RequestAudit() audit: Audit,
  ): Promise<GoTrueSessionDto> {
    return this.gotrue.verifyFactor(actor, claims, factorId, dto, client(userAgent), audit);
  }

  /**
   * GoTrue: remove a factor
   *
   * @remarks auth-js's mfa.unenroll. A verified factor needs an aal2 session whose second factor is recent (USERS_MFA_REAUTH_WINDOW).
   */
  @Delete('factors/:factorId')
  @ApiAccessToken()
  @ApiOkResponse({ type: GoTrueUnenrolledDto })
  @ApiGoTrueErrors(400, 401, 403, 404)
  unenrollGoTrueFactor(@UuidParam('factorId') factorId: string, @CurrentUser() actor: User, @CurrentClaims() claims: AccessTokenClaims, @RequestAudit() audit: Audit): Promise<GoTrueUnenrolledDto> {
    return this.gotrue.unenrollFactor(actor, claims, factorId, audit);
  }

  /**
   * GoTrue: sign out
   *
   * @remarks `scope=global` (default) ends every session of the user, `local` this session, `others` every other one; their access
   * tokens stop working at once, on both APIs.
   */
  @Post('logout')
  @HttpCode(HttpStatus.NO_CONTENT)
  @AllowUnverified()
  @AllowAal1()
  @ApiAccessToken()
  @ApiNoContentResponse({ description: 'Signed out' })
  @ApiGoTrueErrors(400, 401, 403)
  async logoutGoTrue(@Query() query: GoTrueLogoutQueryDto, @CurrentUser() actor: User, @CurrentSessionId() sessionId: string | undefined, @RequestAudit() audit: Audit): Promise<void> {
    await this.gotrue.logout(actor, sessionId, query.scope ?? 'global', audit);
  }

  /**
   * GoTrue: recover a password
   *
   * @remarks Mails a link to /verify?type=recovery, which signs the user in; they then set a new password with PUT /user. The answer is
   * the same whether or not the account exists.
   */
  @Post('recover')
  @Public()
  @RateLimit('email', 'email-account')
  @HttpCode(HttpStatus.OK)
  @ApiOkResponse({ description: 'Always `{}`', schema: { type: 'object', example: {} } })
  @ApiGoTrueErrors(400, 429, 413, 415)
  recoverGoTrue(@Body() dto: GoTrueRecoverDto, @Query() query: GoTrueRedirectQueryDto, @RequestAudit() audit: Audit): Promise<Record<string, never>> {
    return this.gotrue.recover(dto, query.redirect_to, audit);
  }

  /**
   * GoTrue: verify a mailed link's token
   *
   * @remarks Spends the token (`signup`, `email_change`: a verification link; `recovery`, `invite`: a recovery or invitation link),
   * which confirms the address, and answers a new session.
   */
  @Post('verify')
  @Public()
  @HttpCode(HttpStatus.OK)
  @ApiOkResponse({ type: GoTrueSessionDto })
  @ApiGoTrueErrors(400, 403, 413, 415)
  verifyGoTrue(@Body() dto: GoTrueVerifyDto, @Headers('user-agent') userAgent: string | undefined, @RequestAudit() audit: Audit): Promise<GoTrueSessionDto> {
    return this.gotrue.verify(dto.type, dto.token ?? dto.token_hash, client(userAgent), audit, dto.password);
  }

  /**
   * GoTrue: follow a mailed link
   *
   * @remarks The link of GoTrue's mails. Spends the token as POST /verify does and redirects (303) to `redirect_to` (if allowed) or
   * SITE_URL with the session in the fragment (`#access_token=…&refresh_token=…&expires_in=…&type=…`), or the error there
   * (`#error=access_denied&error_code=otp_expired&error_description=…`).
   */
  @Get('verify')
  @Public()
  @Redirect(undefined, HttpStatus.SEE_OTHER)
  @ApiSeeOtherResponse({ description: 'To the site, with the session or the error in the fragment' })
  @ApiGoTrueErrors(400)
  async followGoTrueLink(@Query() query: GoTrueVerifyQueryDto, @Headers('user-agent') userAgent: string | undefined, @RequestAudit() audit: Audit): Promise<{ url: string }> {
    return { url: await this.gotrue.verifyRedirect(query.type, query.token, query.redirect_to, client(userAgent), audit) };
  }

  /**
   * GoTrue: invite a user (admin)
   *
   * @remarks Our invitation: an enabled user without a password, mailed a link to /verify?type=invite that signs them in to set one
   * with PUT /user. Needs an admin's access token.
   */
  @Post('invite')
  @Roles('admin')
  @RateLimit('email', 'email-account')
  @HttpCode(HttpStatus.OK)
  @ApiAccessToken()
  @ApiOkResponse({ type: GoTrueUserDto })
  @ApiGoTrueErrors(400, 401, 403, 422, 429, 413, 415)
  inviteGoTrueUser(@Body() dto: GoTrueInviteDto, @Query() query: GoTrueRedirectQueryDto, @CurrentUser() actor: User, @RequestAudit() audit: Audit): Promise<GoTrueUserDto> {
    return this.gotrue.invite(dto, actor, query.redirect_to, audit);
  }
}
