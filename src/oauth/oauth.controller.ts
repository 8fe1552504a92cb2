import { Controller, Get, HttpCode, HttpStatus, Param, Post, Req, Res } from '@nestjs/common';
import { ApiFoundResponse, ApiNoContentResponse, ApiParam, ApiQuery, ApiSeeOtherResponse, ApiTags } from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { Audit, RequestAudit } from '../common/decorators/audit.decorator';
import { ApiErrors } from '../common/decorators/api-errors.decorator';
import { Public } from '../common/decorators/auth.decorators';
import { AppError } from '../common/errors/app-error';
import { OAUTH_PROVIDERS } from '../config/oauth.config';
import { TokensService } from '../auth/tokens.service';
import { RateLimit } from '../rate-limit/rate-limit.decorator';
import { OAuthSettingsDto } from './dto/oauth.dto';
import { OAUTH_FAILURES } from './oauth-profile';
import { OAuthAnswer, OAuthService } from './oauth.service';
import { REFRESH_COOKIE, readCookie, setCookies } from '../common/session-cookies';
import { OAuthRequest } from './state-store';

const FAILURES = `On failure a 303 to OAUTH_UI_ERROR_URL with \`?error=\` one of: ${OAUTH_FAILURES.join(', ')}.`;

@ApiTags('oauth')
@Public()
@Controller('oauth')
export class OAuthController {
  constructor(
    private readonly oauth: OAuthService,
    private readonly tokens: TokensService,
  ) {}

  /**
   * List the sign-in providers
   *
   * @remarks The enabled OAuth/OIDC providers and the registration settings, after GoTrue's /settings,
   * for a login page to show its buttons.
   */
  @Get('providers')
  @ApiErrors()
  listOAuthProviders(): OAuthSettingsDto {
    return this.oauth.settings();
  }

  /**
   * Sign in with a provider
   *
   * @remarks Redirects the browser to the provider, with a random state bound to this browser (an HttpOnly cookie, 10 minutes) and PKCE (S256).
   * `redirect_to`, where the browser ends up once signed in, must be on an allowed origin
   * (OAUTH_ALLOWED_REDIRECT_ORIGINS); OAUTH_UI_REDIRECT_URL when absent.
   */
  @Get('authorize/:provider')
  @ApiParam({ name: 'provider', enum: OAUTH_PROVIDERS })
  @ApiQuery({ name: 'redirect_to', required: false, description: 'An absolute URL on an allowed origin' })
  @ApiFoundResponse({ description: "To the provider's authorization page" })
  @ApiSeeOtherResponse({ description: FAILURES })
  @ApiErrors('VALIDATION_FAILED')
  async authorizeOAuth(@Param('provider') provider: string, @Req() request: OAuthRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    answer(reply, await this.oauth.authorize(provider, request));
  }

  /**
   * Finish signing in with a provider
   *
   * @remarks Where the provider sends the browser back. Checks the state against this browser's cookie, exchanges the code (with the PKCE verifier), and
   * signs the person in: the user linked to this identity, or the user with the same e-mail address
   * when the provider verified it, or a new user. The session goes to the UI as the HttpOnly cookies
   * `access_token` and `refresh_token`, with a 302 to `redirect_to` or OAUTH_UI_REDIRECT_URL. A user with a verified second factor
   * gets no cookies but `?mfa_required=1` and the MFA challenge in the fragment (`#mfa_token=…&expires_in=…`): POST /users/tokens/mfa
   * completes it with a code.
   */
  @Get('callback/:provider')
  @ApiParam({ name: 'provider', enum: OAUTH_PROVIDERS })
  @ApiFoundResponse({ description: 'Signed in: to the UI, with the session cookies set (or, for a user with a second factor, `?mfa_required=1` and `#mfa_token=…`)' })
  @ApiSeeOtherResponse({ description: FAILURES })
  @ApiErrors('VALIDATION_FAILED')
  async oauthCallback(@Param('provider') provider: string, @Req() request: OAuthRequest, @RequestAudit() audit: Audit, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    answer(reply, await this.oauth.callback(provider, request, audit));
  }

  /**
   * Renew the cookie session
   *
   * @remarks For a page of the UI. Spends the `refresh_token` cookie for new `access_token` and `refresh_token` cookies. Only from an
   * allowed origin (the Origin header), so that another site cannot make the browser do it.
   */
  @Post('session/refresh')
  @RateLimit('refresh')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'New session cookies are set' })
  @ApiErrors('FORBIDDEN', 'REFRESH_TOKEN_INVALID', 'REFRESH_TOKEN_REUSED', 'RATE_LIMITED')
  async refreshCookieSession(@Req() request: OAuthRequest, @RequestAudit() audit: Audit, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    this.assertAllowedOrigin(request);
    const pair = await this.tokens.rotate(readCookie(request, REFRESH_COOKIE) ?? '', audit);
    setCookies(reply, this.oauth.sessionCookies(pair));
  }

  /**
   * Sign out of the cookie session
   *
   * @remarks For a page of the UI. Revokes the session of the `refresh_token` cookie and clears both cookies. Only from an allowed
   * origin.
   */
  @Post('session/logout')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'The session is revoked and the cookies cleared' })
  @ApiErrors('FORBIDDEN')
  async logoutCookieSession(@Req() request: OAuthRequest, @RequestAudit() audit: Audit, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    this.assertAllowedOrigin(request);
    const refreshToken = readCookie(request, REFRESH_COOKIE);
    if (refreshToken) await this.tokens.endSession(refreshToken, audit);
    setCookies(reply, this.oauth.clearedSessionCookies());
  }

  /** Cookies go with every request to us, from any site: a state change on their strength needs our own UI's Origin. */
  private assertAllowedOrigin(request: OAuthRequest): void {
    if (!this.oauth.isAllowedOrigin(request.headers.origin)) throw new AppError('FORBIDDEN', 'cookie sessions may only be used from an allowed origin');
  }
}

/** An OAuthAnswer as the reply: its status, Location and cookies (also for the GoTrue API's /authorize). */
export function answer(reply: FastifyReply, { status, location, cookies }: OAuthAnswer): void {
  setCookies(reply, cookies);
  reply.status(status).header('Location', location).header('Cache-Control', 'no-store');
}
