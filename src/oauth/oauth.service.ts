import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { SerializeOptions } from 'cookie';
import { Audit } from '../common/decorators/audit.decorator';
import { ACCESS_COOKIE, CookieToSet, REFRESH_COOKIE } from '../common/session-cookies';
import { authConfig } from '../config/auth.config';
import { OAuthProviderName, oauthConfig } from '../config/oauth.config';
import { TokenPairDto } from '../auth/dto/token-pair.dto';
import { MfaChallengeDto } from '../mfa/dto/mfa.dto';
import { OAuthSettingsDto } from './dto/oauth.dto';
import { OAuthAccountsService } from './oauth-accounts.service';
import { OAuthFailure, OAuthFailureCode, OAuthProfile } from './oauth-profile';
import { runPassport } from '../common/passport/passport-runner';
import { HANDOFF, OAuthHandoff, OAuthRequest, REDIRECT_TO, STATE_COOKIE, STATE_COOKIE_VALUE, STATE_TTL_MS } from './state-store';
import { OAUTH_ENABLED_PROVIDERS } from './strategies';

/** What the controller answers: a redirect, and the cookies to set (a null value clears one). */
export interface OAuthAnswer {
  status: 302 | 303;
  location: string;
  cookies: CookieToSet[];
}

/**
 * Another module's way of handing a sign-in's session to the browser (the GoTrue API: in the redirect's
 * fragment, or as a code for PKCE), instead of the cookie session: where the browser goes once signed
 * in, or once the sign-in failed (after the state was checked: before that, OAUTH_UI_ERROR_URL).
 */
export interface OAuthHandoffHandler {
  signedIn(tokens: TokenPairDto, redirectTo: string, handoff: OAuthHandoff): string;
  failed(failure: OAuthFailure, redirectTo: string, handoff: OAuthHandoff): string;
}

/** The cookie-session endpoints (POST /oauth/session/refresh, /logout): the refresh cookie's path. */
export const SESSION_PATH = '/oauth/session';

const DISPLAY_NAMES: Record<OAuthProviderName, string> = { google: 'Google', github: 'GitHub', gitlab: 'GitLab', bitbucket: 'Bitbucket', oidc: 'OpenID Connect' };

/**
 * The browser side of OAuth: sends the browser to the provider (state and PKCE through passport and
 * CookieStateStore), and at the callback signs the person in and hands the session to the UI as
 * HttpOnly cookies. Every failure is a 303 to OAUTH_UI_ERROR_URL with `?error=<code>`.
 */
@Injectable()
export class OAuthService {
  private readonly logger = new Logger(OAuthService.name);
  private readonly handoffs = new Map<string, OAuthHandoffHandler>();

  constructor(
    @Inject(oauthConfig.KEY) private readonly oauth: ConfigType<typeof oauthConfig>,
    @Inject(authConfig.KEY) private readonly auth: ConfigType<typeof authConfig>,
    @Inject(OAUTH_ENABLED_PROVIDERS) private readonly enabled: OAuthProviderName[],
    private readonly accounts: OAuthAccountsService,
  ) {}

  settings(): OAuthSettingsDto {
    return {
      providers: this.enabled.map((name) => ({
        name,
        display_name: name === 'oidc' ? this.oauth.oidcDisplayName : DISPLAY_NAMES[name],
        authorize_url: `/oauth/authorize/${name}`,
      })),
      self_register: this.auth.allowSelfRegister,
      allow_unverified: this.auth.allowUnverifiedUser,
    };
  }

  /** Lets another module take the sessions of the sign-ins it starts with a handoff of this kind (see authorize). */
  registerHandoff(kind: string, handler: OAuthHandoffHandler): void {
    this.handoffs.set(kind, handler);
  }

  /**
   * GET /oauth/authorize/{provider}: to the provider, with a fresh state bound to this browser. With a
   * handoff (and the redirect its module has checked), the callback hands the session to that module.
   */
  async authorize(provider: string, request: OAuthRequest, handoff?: { redirectTo: string; handoff: OAuthHandoff }): Promise<OAuthAnswer> {
    try {
      const name = this.enabledProvider(provider);
      const redirectTo = (request.query as Record<string, unknown>).redirect_to;
      if (handoff) Object.assign(request, { [REDIRECT_TO]: handoff.redirectTo, [HANDOFF]: handoff.handoff });
      else if (redirectTo !== undefined) request[REDIRECT_TO] = this.allowedRedirect(redirectTo);
      const outcome = await runPassport(name, request);
      if (outcome.kind !== 'redirect' || !request[STATE_COOKIE_VALUE]) throw this.failureOf(outcome, 'PROVIDER_ERROR');
      return {
        status: 302,
        location: outcome.url,
        cookies: [{ name: STATE_COOKIE, value: request[STATE_COOKIE_VALUE], options: this.cookieOptions(this.callbackPath(name), STATE_TTL_MS) }],
      };
    } catch (error) {
      return this.failed(error);
    }
  }

  /** The provider whose sign-in a callback's `state` belongs to (for a callback URL shared by every provider). */
  providerOfState(state: unknown): string {
    return typeof state === 'string' ? state.split('.')[0] : '';
  }

  /** GET /oauth/callback/{provider}: checks the state, exchanges the code, signs in, hands over the session. */
  async callback(provider: string, request: OAuthRequest, audit: Audit): Promise<OAuthAnswer> {
    const enabled = this.enabled.find((name) => name === provider);
    const clearState = { name: STATE_COOKIE, value: null, options: this.cookieOptions(enabled ? this.callbackPath(enabled) : '/oauth/callback', 0) };
    let handedOff: { redirectTo: string; handoff: OAuthHandoff; handler: OAuthHandoffHandler } | undefined;
    try {
      const name = this.enabledProvider(provider);
      const query = request.query as Record<string, unknown>;
      if (query.error === 'access_denied') throw new OAuthFailure('ACCESS_DENIED', `${name}: the person declined`);
      if (query.error !== undefined) throw new OAuthFailure('PROVIDER_ERROR', `${name} answered error=${String(query.error)}`);
      if (typeof query.code !== 'string' || !query.code) throw new OAuthFailure('MISSING_CODE');
      const outcome = await runPassport(name, request);
      if (outcome.kind !== 'success') throw this.failureOf(outcome, 'TOKEN_EXCHANGE_FAILED');
      const { redirectTo, handoff } = ((outcome.info as { state?: { redirectTo?: string; handoff?: OAuthHandoff } }).state ?? {}) as { redirectTo?: string; handoff?: OAuthHandoff };
      const handler = handoff && this.handoffs.get(handoff.kind);
      if (handoff && handler && redirectTo) handedOff = { redirectTo, handoff, handler };
      const { session } = await this.accounts.signIn(outcome.user as OAuthProfile, audit, handedOff ? 'session' : 'challenge');
      if ('mfa_required' in session) return { status: 302, location: this.mfaRedirect(redirectTo ?? this.oauth.uiRedirectUrl, session), cookies: [clearState] };
      if (handedOff) return { status: 302, location: handedOff.handler.signedIn(session, handedOff.redirectTo, handedOff.handoff), cookies: [clearState] };
      return { status: 302, location: redirectTo ?? this.oauth.uiRedirectUrl, cookies: [clearState, ...this.sessionCookies(session)] };
    } catch (error) {
      const answer = this.failed(error);
      const failure = error instanceof OAuthFailure ? error : new OAuthFailure('INTERNAL');
      if (handedOff) return { status: 303, location: handedOff.handler.failed(failure, handedOff.redirectTo, handedOff.handoff), cookies: [clearState] };
      return { ...answer, cookies: [clearState] };
    }
  }

  /**
   * The session as two HttpOnly cookies: the access token (for safe requests anywhere) and the
   * refresh token, which only the session endpoints read and so only they get (#8 finding 10).
   */
  sessionCookies(tokens: TokenPairDto): OAuthAnswer['cookies'] {
    return [
      { name: ACCESS_COOKIE, value: tokens.access_token, options: this.cookieOptions('/', tokens.expires_in * 1000) },
      { name: REFRESH_COOKIE, value: tokens.refresh_token, options: this.cookieOptions(SESSION_PATH, this.auth.refreshTokenTtlMs) },
    ];
  }

  /**
   * A user with a verified second factor gets no cookie session from a provider alone (#16): the UI
   * learns it from `?mfa_required=1`, and finds the challenge in the fragment (`#mfa_token=…&expires_in=…`,
   * which never reaches a server's logs or a Referer), to complete with a code at POST /users/tokens/mfa.
   */
  private mfaRedirect(location: string, challenge: MfaChallengeDto): string {
    const url = new URL(location);
    url.searchParams.set('mfa_required', '1');
    url.hash = new URLSearchParams({ mfa_token: challenge.mfa_token, expires_in: String(challenge.expires_in) }).toString();
    return url.toString();
  }

  clearedSessionCookies(): OAuthAnswer['cookies'] {
    return [
      { name: ACCESS_COOKIE, value: null, options: this.cookieOptions('/', 0) },
      { name: REFRESH_COOKIE, value: null, options: this.cookieOptions(SESSION_PATH, 0) },
    ];
  }

  /** True when a cookie-authenticated state change comes from a page of an allowed origin (CSRF). */
  isAllowedOrigin(origin: string | undefined): boolean {
    return origin !== undefined && this.oauth.allowedOrigins.includes(origin);
  }

  /** The state cookie goes to the provider's callback only: the path of its callback URL (ours, or the GoTrue API's). */
  private callbackPath(name: OAuthProviderName): string {
    const client = this.oauth[name];
    return client ? new URL(client.callbackUrl).pathname : '/oauth/callback';
  }

  private cookieOptions(path: string, maxAgeMs: number): SerializeOptions {
    return { path, httpOnly: true, sameSite: 'lax', secure: this.oauth.secureCookies, maxAge: Math.floor(maxAgeMs / 1000) };
  }

  private enabledProvider(provider: string): OAuthProviderName {
    const name = this.enabled.find((enabled) => enabled === provider);
    if (!name) throw new OAuthFailure('PROVIDER_DISABLED', `provider ${provider} is not enabled`);
    return name;
  }

  /**
   * The redirect rule (no open redirect): `value` when it is an absolute http(s) URL without credentials
   * on an allowed origin (OAUTH_ALLOWED_REDIRECT_ORIGINS, and `alsoOrigins`, e.g. the GoTrue API's
   * SITE_URL), normalised; undefined for any other.
   */
  allowedRedirectOf(value: unknown, alsoOrigins: readonly string[] = []): string | undefined {
    if (typeof value !== 'string' || value.length > 2048 || !URL.canParse(value)) return undefined;
    const url = new URL(value);
    if (!['http:', 'https:'].includes(url.protocol) || url.username || url.password) return undefined;
    return this.oauth.allowedOrigins.includes(url.origin) || alsoOrigins.includes(url.origin) ? url.toString() : undefined;
  }

  /** `redirect_to` of our own /oauth/authorize: refused when the redirect rule does not allow it. */
  private allowedRedirect(value: unknown): string {
    const allowed = this.allowedRedirectOf(value);
    if (allowed === undefined) throw new OAuthFailure('REDIRECT_NOT_ALLOWED', 'redirect_to is not under an allowed origin');
    return allowed;
  }

  /** The failure a passport outcome stands for. */
  private failureOf(outcome: Awaited<ReturnType<typeof runPassport>>, otherwise: OAuthFailureCode): OAuthFailure {
    if (outcome.kind === 'fail') {
      const code = (outcome.info as { code?: OAuthFailureCode } | undefined)?.code;
      return new OAuthFailure(code ?? 'ACCESS_DENIED');
    }
    if (outcome.kind === 'error') {
      const error = outcome.error as { name?: string; message?: string } | undefined;
      if (error instanceof OAuthFailure) return error;
      const code: OAuthFailureCode = error?.name === 'InternalOAuthError' || error?.name === 'TokenError' ? 'TOKEN_EXCHANGE_FAILED' : error?.name === 'AuthorizationError' ? 'PROVIDER_ERROR' : 'PROFILE_FAILED';
      return new OAuthFailure(code, error?.message);
    }
    return new OAuthFailure(otherwise);
  }

  private failed(error: unknown): OAuthAnswer {
    const failure = error instanceof OAuthFailure ? error : new OAuthFailure('INTERNAL');
    if (failure.code === 'INTERNAL') this.logger.error({ err: error }, 'OAuth sign-in failed');
    else this.logger.warn({ code: failure.code, reason: failure.message }, 'OAuth sign-in refused');
    const location = new URL(this.oauth.uiErrorUrl);
    location.searchParams.set('error', failure.code);
    return { status: 303, location: location.toString(), cookies: [] };
  }
}
