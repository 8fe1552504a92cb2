import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { FastifyRequest } from 'fastify';
import { DataSource } from 'typeorm';
import { readCookie } from '../common/session-cookies';
import { SealedBox } from '../common/utils/sealed-box';
import { OAuthFailureCode } from './oauth-profile';

export const STATE_COOKIE = 'oauth_state';
export const STATE_TTL_MS = 10 * 60_000;
/** Request properties the flow and the store pass each other through passport. */
export const REDIRECT_TO = Symbol('oauth redirect_to');
export const STATE_COOKIE_VALUE = Symbol('oauth state cookie value');
export const HANDOFF = Symbol('oauth handoff');

/** Who takes the session at the callback instead of the cookie session (see OAuthService.registerHandoff), with what it needs then. */
export interface OAuthHandoff {
  kind: string;
  [key: string]: unknown;
}

export type OAuthRequest = FastifyRequest & { [REDIRECT_TO]?: string; [STATE_COOKIE_VALUE]?: string; [HANDOFF]?: OAuthHandoff };

interface SealedState {
  state: string;
  verifier: string;
  provider: string;
  redirectTo?: string;
  handoff?: OAuthHandoff;
  expiresAt: number;
}

type Done = (error: Error | null, verifierOrOk?: string | false, info?: { redirectTo?: string; handoff?: OAuthHandoff } | { code: OAuthFailureCode }) => void;

/**
 * passport-oauth2's state store (with PKCE): a random state per authorization request, bound to the
 * browser by an HttpOnly cookie that holds the state, the PKCE verifier, the `redirect_to` and the handoff, sealed
 * (AES-256-GCM) so that it can be neither read nor forged; 10 minutes. At the callback the state must
 * match the cookie's, and a state is spent once (oauth_spent_states): a replayed callback is refused.
 * The method arities are passport-oauth2's way of telling store kinds apart: keep them.
 */
export class CookieStateStore {
  constructor(
    private readonly provider: string,
    private readonly box: SealedBox,
    private readonly dataSource: DataSource,
  ) {}

  store(request: OAuthRequest, verifier: string, _state: unknown, _meta: unknown, done: (error: Error | null, state?: string) => void): void {
    // Named by its provider, so that a callback shared by every provider (the GoTrue API's) knows whose it is.
    const state = `${this.provider}.${randomBytes(32).toString('base64url')}`;
    const sealed: SealedState = { state, verifier, provider: this.provider, redirectTo: request[REDIRECT_TO], handoff: request[HANDOFF], expiresAt: Date.now() + STATE_TTL_MS };
    request[STATE_COOKIE_VALUE] = this.box.seal(JSON.stringify(sealed)).toString('base64url');
    done(null, state);
  }

  verify(request: OAuthRequest, presented: unknown, _meta: unknown, done: Done): void {
    const cookie = readCookie(request, STATE_COOKIE);
    if (!cookie) return done(null, false, { code: 'STATE_MISSING' });
    let sealed: SealedState;
    try {
      sealed = JSON.parse(this.box.open(Buffer.from(cookie, 'base64url'))) as SealedState;
    } catch {
      return done(null, false, { code: 'STATE_MISMATCH' });
    }
    if (sealed.provider !== this.provider || typeof presented !== 'string' || !sameText(presented, sealed.state)) {
      return done(null, false, { code: 'STATE_MISMATCH' });
    }
    if (sealed.expiresAt <= Date.now()) return done(null, false, { code: 'STATE_EXPIRED' });
    this.spend(sealed.state).then(
      (fresh) => (fresh ? done(null, sealed.verifier, { redirectTo: sealed.redirectTo, handoff: sealed.handoff }) : done(null, false, { code: 'STATE_REPLAYED' })),
      (error: Error) => done(error),
    );
  }

  /** True the first time a state is spent. */
  private async spend(state: string): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `INSERT INTO oauth_spent_states (state_hash) VALUES ($1) ON CONFLICT DO NOTHING RETURNING 1`,
      [createHash('sha256').update(state).digest()],
    );
    return rows.length === 1;
  }
}

/** Compares two strings in constant time (for secrets: states, code challenges). */
export function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
