import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { PassportStrategy } from '@nestjs/passport';
import { FastifyRequest } from 'fastify';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { authConfig } from '../config/auth.config';
import { User } from '../users/entities/user.entity';
import { ACCESS_TOKEN_CLAIMS, AccessTokenClaims } from './access-token';
import { AccessTokenVerifier } from './access-token-verifier.service';
import { verificationKey } from './signing-keys';
import { ACCESS_COOKIE, readCookie } from '../common/session-cookies';

/**
 * The `access_token` cookie of an OAuth sign-in (see OAuthService), on GET and HEAD only: a cookie
 * goes with every request to us, also one that another site makes the browser send, so it may
 * read but never change anything (no CSRF). Changes take the token as a bearer token.
 */
function accessCookieOnSafeRequests(request: unknown): string | null {
  const { method } = request as FastifyRequest;
  return method === 'GET' || method === 'HEAD' ? (readCookie(request as FastifyRequest, ACCESS_COOKIE) ?? null) : null;
}

/**
 * Verifies the access token (HS256 only, issuer and audience checked, key object built once), then
 * has AccessTokenVerifier load its user and refuse a token that is no longer good.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    @Inject(authConfig.KEY) auth: ConfigType<typeof authConfig>,
    private readonly verifier: AccessTokenVerifier,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromExtractors([ExtractJwt.fromAuthHeaderAsBearerToken(), accessCookieOnSafeRequests]),
      // During a key rotation (USERS_SECRET_KEY_PREVIOUS), tokens signed before it still verify until they expire.
      ...(auth.previousJwtKey
        ? { secretOrKeyProvider: (_request: unknown, token: string, done: (error: null, key: string) => void) => done(null, verificationKey(token, auth) as unknown as string) }
        : { secretOrKey: auth.jwtKey as unknown as string }),
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
    const user = await this.verifier.userOf(claims);
    Object.assign(request, { [ACCESS_TOKEN_CLAIMS]: claims });
    return user;
  }
}
