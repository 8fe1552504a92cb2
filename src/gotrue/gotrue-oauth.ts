import { createHash } from 'node:crypto';
import { HttpStatus, Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { TokenPairDto } from '../auth/dto/token-pair.dto';
import { SealedBox } from '../common/utils/sealed-box';
import { authConfig } from '../config/auth.config';
import { OAuthFailure } from '../oauth/oauth-profile';
import { OAuthService } from '../oauth/oauth.service';
import { OAuthHandoff, sameText } from '../oauth/state-store';
import { GoTrueError } from './gotrue-errors';
import { GoTrueLinks } from './gotrue-links';
import { accessTokenClaims } from './gotrue.mapper';

export const GOTRUE_HANDOFF = 'gotrue';

/** How long the code of a PKCE sign-in may wait for its exchange (POST /token?grant_type=pkce). */
const AUTH_CODE_TTL_MS = 5 * 60_000;

interface GoTrueHandoff extends OAuthHandoff {
  kind: typeof GOTRUE_HANDOFF;
  /** PKCE (auth-js's flowType 'pkce'): the challenge the code's exchange must answer. */
  codeChallenge?: string;
  codeChallengeMethod?: 's256' | 'plain';
}

/** What a PKCE sign-in's code holds, sealed: the session's refresh token, spent (rotated) at the exchange. */
interface SealedCode {
  refreshToken: string;
  challenge: string;
  method: 's256' | 'plain';
  expiresAt: number;
}

const FLOW_STATE_NOT_FOUND = () => new GoTrueError(HttpStatus.NOT_FOUND, 'flow_state_not_found', 'invalid flow state, no valid flow state found');

/**
 * GoTrue's OAuth sign-in over the OAuth module's: /authorize starts it with a handoff, and at the
 * callback the session goes to `redirect_to` in the fragment (implicit flow), or as `?code=` (PKCE),
 * which POST /token?grant_type=pkce exchanges with the code verifier. The code is the session's
 * refresh token sealed (AES-256-GCM) with the challenge and a 5-minute expiry, so no row is needed:
 * the exchange rotates that refresh token, so a code works once (a second exchange presents a spent
 * refresh token, which ends the session, as any refresh-token reuse does).
 */
@Injectable()
export class GoTrueOAuth implements OnModuleInit {
  private readonly box: SealedBox;

  constructor(
    private readonly oauth: OAuthService,
    private readonly links: GoTrueLinks,
    @Inject(authConfig.KEY) auth: ConfigType<typeof authConfig>,
  ) {
    this.box = new SealedBox(auth.secretKey, 'gotrue-auth-code', auth.previousSecretKey);
  }

  onModuleInit(): void {
    this.oauth.registerHandoff(GOTRUE_HANDOFF, {
      signedIn: (tokens, redirectTo, handoff) => this.signedIn(tokens, redirectTo, handoff as GoTrueHandoff),
      failed: (failure, redirectTo, handoff) => this.failed(failure, redirectTo, handoff as GoTrueHandoff),
    });
  }

  /** The handoff of an /authorize request: PKCE when it carries a code challenge. */
  handoff(codeChallenge: string | undefined, method: string | undefined): GoTrueHandoff {
    if (!codeChallenge) return { kind: GOTRUE_HANDOFF };
    return { kind: GOTRUE_HANDOFF, codeChallenge, codeChallengeMethod: method?.toLowerCase() === 'plain' ? 'plain' : 's256' };
  }

  /** The refresh token a code stands for, when `verifier` answers its challenge. */
  redeem(code: string | undefined, verifier: string | undefined): string {
    if (!code || !verifier) throw new GoTrueError(HttpStatus.BAD_REQUEST, 'validation_failed', 'invalid request: both auth code and code verifier should be non-empty');
    let sealed: SealedCode;
    try {
      sealed = JSON.parse(this.box.open(Buffer.from(code, 'base64url'))) as SealedCode;
    } catch {
      throw FLOW_STATE_NOT_FOUND();
    }
    if (sealed.expiresAt <= Date.now()) throw new GoTrueError(HttpStatus.NOT_FOUND, 'flow_state_expired', 'invalid flow state, flow state has expired');
    const answer = sealed.method === 'plain' ? verifier : createHash('sha256').update(verifier).digest('base64url');
    if (!sameText(answer, sealed.challenge)) throw new GoTrueError(HttpStatus.FORBIDDEN, 'bad_code_verifier', 'code challenge does not match previously saved code verifier');
    return sealed.refreshToken;
  }

  private signedIn(tokens: TokenPairDto, redirectTo: string, handoff: GoTrueHandoff): string {
    if (handoff.codeChallenge) {
      const sealed: SealedCode = { refreshToken: tokens.refresh_token, challenge: handoff.codeChallenge, method: handoff.codeChallengeMethod ?? 's256', expiresAt: Date.now() + AUTH_CODE_TTL_MS };
      const url = new URL(redirectTo);
      url.searchParams.set('code', this.box.seal(JSON.stringify(sealed)).toString('base64url'));
      return url.toString();
    }
    const { exp } = accessTokenClaims(tokens.access_token);
    return this.links.withFragment(redirectTo, {
      access_token: tokens.access_token,
      expires_at: String(exp),
      expires_in: String(tokens.expires_in),
      refresh_token: tokens.refresh_token,
      token_type: 'bearer',
    });
  }

  /** GoTrue's error redirect: in the fragment, and for PKCE in the query too. */
  private failed(failure: OAuthFailure, redirectTo: string, handoff: GoTrueHandoff): string {
    const error = { error: failure.code === 'ACCESS_DENIED' ? 'access_denied' : 'server_error', error_code: failure.code.toLowerCase(), error_description: failure.message };
    const url = new URL(this.links.withFragment(redirectTo, error));
    if (handoff.codeChallenge) for (const [name, value] of Object.entries(error)) url.searchParams.set(name, value);
    return url.toString();
  }
}
