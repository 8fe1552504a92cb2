import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { LRUCache } from 'lru-cache';
import { AppError } from '../common/errors/app-error';
import { authConfig } from '../config/auth.config';
import { User } from '../users/entities/user.entity';
import { UsersRepository } from '../users/users.repository';
import { AccessTokenClaims } from './access-token';
import { SigningKeys } from './signing-keys';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Verified tokens kept (each until its `exp`): some hundred bytes each, so a few MB at most. */
const VERIFIED_TOKENS_KEPT = 10_000;

/** Refused tokens kept, counted in characters (a token may be as long as a header; an empty one counts one): a few MB at most. */
const REFUSED_TOKEN_CHARACTERS_KEPT = 1_000_000;

/**
 * What makes an access token good: signed by a key of ours (the `kid` it names, with that key's
 * algorithm; see SigningKeys), our issuer and audience, an access token with `exp`, `iat` and `sid`, of
 * a user who exists and is enabled, whose session (`sid`, the refresh-token family) is not revoked.
 * Password change, revoking the session, refresh-reuse detection, logout, disable, delete and reset all
 * end it at once: the user and session are read on every call (one query,
 * UsersRepository.findWithSession), only the signature check and its outcome are remembered. The one verifier of the
 * HTTP guard (through the passport-jwt strategy, AccessTokenStrategy) and the NATS API (users.verify_token).
 */
@Injectable()
export class AccessTokenVerifier {
  /** Tokens whose signature and claims passed, by the whole token, until they expire: a signature check costs more than the rest of a request. */
  private readonly verified = new LRUCache<string, AccessTokenClaims>({ max: VERIFIED_TOKENS_KEPT });
  /**
   * Tokens refused for their signature or claims, with the refusal: neither changes while the process
   * runs (its keys, issuer and audience are set at start, and an expired token stays expired), so a
   * client or flood that repeats a bad token is answered without checking it again.
   */
  private readonly refused = new LRUCache<string, Pick<AppError, 'code' | 'message'>>({ maxSize: REFUSED_TOKEN_CHARACTERS_KEPT, sizeCalculation: (_, token) => token.length || 1 });

  constructor(
    private readonly users: UsersRepository,
    private readonly keys: SigningKeys,
    @Inject(authConfig.KEY) private readonly auth: ConfigType<typeof authConfig>,
  ) {}

  async verify(token: string): Promise<{ user: User; claims: AccessTokenClaims }> {
    const claims = await this.checkSignature(token);
    return { user: await this.checkSession(claims), claims };
  }

  /** The claims of a token signed by us and well formed (remembered until it expires); a refusal is remembered too. */
  async checkSignature(token: string): Promise<AccessTokenClaims> {
    const remembered = this.verified.get(token);
    if (remembered) return remembered;
    const refusal = this.refused.get(token);
    if (refusal) throw new AppError(refusal.code, refusal.message);
    try {
      const claims = await this.keys.verify<AccessTokenClaims>(token, { issuer: this.auth.issuer, audience: this.auth.audience });
      if (!wellFormed(claims)) throw new AppError('TOKEN_INVALID');
      const ttl = claims.exp * 1000 - Date.now();
      if (ttl > 0) this.verified.set(token, Object.freeze(claims), { ttl }); // (a ttl of 0 would mean forever)
      return claims;
    } catch (error) {
      if (error instanceof AppError) this.refused.set(token, { code: error.code, message: error.message });
      throw error;
    }
  }

  /** The user of verified claims, if they still exist, are enabled and the token's session is not revoked. */
  async checkSession(claims: AccessTokenClaims): Promise<User> {
    const found = await this.users.findWithSession(claims.sub, claims.sid);
    if (!found || found.user.status === 'deleted') throw new AppError('TOKEN_INVALID', 'the user of this token no longer exists');
    if (found.user.status === 'disabled') throw new AppError('ACCOUNT_DISABLED');
    if (found.sessionRevoked) throw new AppError('TOKEN_REVOKED');
    return found.user;
  }
}

/** An access token, with every claim the checks rely on: a user, a session, and its times. */
function wellFormed(claims: AccessTokenClaims): boolean {
  return (
    claims.type === 'access' &&
    typeof claims.sub === 'string' &&
    UUID.test(claims.sub) &&
    typeof claims.sid === 'string' &&
    UUID.test(claims.sid) &&
    Number.isFinite(claims.iat) &&
    Number.isFinite(claims.exp)
  );
}
