import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { AppError } from '../common/errors/app-error';
import { User } from '../users/entities/user.entity';
import { UsersRepository } from '../users/users.repository';
import { AccessTokenClaims } from './access-token';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * What makes a signature-checked access token good: an access token of a user who exists, is
 * enabled, and has revoked nothing since it was issued. The user is loaded by primary key: the one
 * query of an authenticated read. Used by the HTTP guard (after passport-jwt) and the NATS API.
 */
@Injectable()
export class AccessTokenVerifier {
  constructor(
    private readonly users: UsersRepository,
    private readonly jwt: JwtService,
  ) {}

  async userOf(claims: AccessTokenClaims): Promise<User> {
    if (claims.type !== 'access' || typeof claims.sub !== 'string' || !UUID.test(claims.sub)) {
      throw new AppError('TOKEN_INVALID');
    }
    const user = await this.users.findById(claims.sub);
    if (!user || user.status === 'deleted') throw new AppError('TOKEN_INVALID', 'the user of this token no longer exists');
    if (user.status === 'disabled') throw new AppError('ACCOUNT_DISABLED');
    if (user.tokensRevokedAt && claims.iat * 1000 < user.tokensRevokedAt.getTime()) throw new AppError('TOKEN_REVOKED');
    return user;
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
