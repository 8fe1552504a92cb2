import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { PassportStrategy } from '@nestjs/passport';
import { FastifyRequest } from 'fastify';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { authConfig } from '../config/auth.config';
import { AppError } from '../common/errors/app-error';
import { User } from '../users/entities/user.entity';
import { UsersRepository } from '../users/users.repository';
import { ACCESS_TOKEN_CLAIMS, AccessTokenClaims } from './access-token';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Verifies the access token (HS256 only, issuer and audience checked, key object built once), then
 * loads the user by primary key — the one query of an authenticated read — and refuses a user who is
 * disabled or deleted, or whose tokens were revoked after this one was issued.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    @Inject(authConfig.KEY) auth: ConfigType<typeof authConfig>,
    private readonly users: UsersRepository,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKey: auth.jwtKey as unknown as string,
      algorithms: ['HS256'],
      issuer: auth.issuer,
      audience: auth.audience,
      passReqToCallback: true,
    });
  }

  /**
   * jsonwebtoken builds an Error with a stack trace for every refused token, which costs more than the
   * rest of a refused request. The verification runs synchronously inside this call, so stack capture
   * is off just for it; the user lookup that follows is asynchronous and keeps full stacks.
   */
  override authenticate(...args: Parameters<Strategy['authenticate']>): void {
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super.authenticate(...args);
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
  }

  async validate(request: FastifyRequest, claims: AccessTokenClaims): Promise<User> {
    if (claims.type !== 'access' || typeof claims.sub !== 'string' || !UUID.test(claims.sub)) {
      throw new AppError('TOKEN_INVALID');
    }
    const user = await this.users.findById(claims.sub);
    if (!user || user.status === 'deleted') throw new AppError('TOKEN_INVALID', 'the user of this token no longer exists');
    if (user.status === 'disabled') throw new AppError('ACCOUNT_DISABLED');
    if (user.tokensRevokedAt && claims.iat * 1000 < user.tokensRevokedAt.getTime()) throw new AppError('TOKEN_REVOKED');
    Object.assign(request, { [ACCESS_TOKEN_CLAIMS]: claims });
    return user;
  }
}
