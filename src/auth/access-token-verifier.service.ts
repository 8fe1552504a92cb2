import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { AppError } from '../common/errors/app-error';
import { User } from '../users/entities/user.entity';
import { UsersRepository } from '../users/users.repository';
import { AccessTokenClaims } from './access-token';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * What makes a signature-checked access token good: an access token with `exp`, `iat` and `sid` (the
 * JWT library refuses an expired token but not one without `exp`), of a user who exists and is
 * enabled, whose session (`sid`, the refresh-token family) is not revoked. Password change, revoking
 * the session, refresh-reuse detection, logout, disable, delete and reset all end it at once. One
 * query: the user by primary key joined with the session's revocation (UsersRepository.findWithSession).
 * Used by the HTTP guard (after passport-jwt) and the NATS API.
 */
@Injectable()
export class AccessTokenVerifier {
  constructor(
    private readonly users: UsersRepository,
    private readonly jwt: JwtService,
  ) {}

  async userOf(claims: AccessTokenClaims): Promise<User> {
    if (!wellFormed(claims)) throw new AppError('TOKEN_INVALID');
    const found = await this.users.findWithSession(claims.sub, claims.sid);
    if (!found || found.user.status === 'deleted') throw new AppError('TOKEN_INVALID', 'the user of this token no longer exists');
    if (found.user.status === 'disabled') throw new AppError('ACCOUNT_DISABLED');
    if (found.sessionRevoked) throw new AppError('TOKEN_REVOKED');
    return found.user;
  }

  /** Checks the signature (HS256 only, issuer and audience) and then the claims and the user. */
  async verify(token: string): Promise<{ user: User; claims: AccessTokenClaims }> {
    let claims: AccessTokenClaims;
    try {
      claims = this.jwt.verify<AccessTokenClaims>(token);
    } catch (error) {
      throw new AppError((error as Error).name === 'TokenExpiredError' ? 'TOKEN_EXPIRED' : 'TOKEN_INVALID');
    }
    return { user: await this.userOf(claims), claims };
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
