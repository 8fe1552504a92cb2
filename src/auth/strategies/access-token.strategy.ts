import { FastifyRequest } from 'fastify';
import { Strategy } from 'passport-jwt';
import { ACCESS_COOKIE, readCookie } from '../../common/session-cookies';
import { ACCESS_TOKEN_CLAIMS, AccessTokenClaims } from '../access-token';
import { AccessTokenVerifier } from '../access-token-verifier.service';
import { bearerToken } from '../bearer-token';

/**
 * The access token of a request: the bearer token, else the `access_token` cookie of an OAuth sign-in
 * (see OAuthService) on GET and HEAD only: a cookie goes with every request to us, also one that
 * another site makes the browser send, so it may read but never change anything (no CSRF). Changes
 * take the token as a bearer token.
 */
function accessTokenOf(request: FastifyRequest): string | null {
  const bearer = bearerToken(request.headers.authorization);
  if (bearer !== undefined) return bearer;
  return (request.method === 'GET' || request.method === 'HEAD' ? readCookie(request, ACCESS_COOKIE) : undefined) || null;
}

type JwtVerifier = (token: string, key: unknown, options: unknown, done: (error: unknown, claims?: unknown) => void) => void;
const strategyStatics = Strategy as unknown as { JwtVerifier: JwtVerifier };

/*
 * passport-jwt checks signatures with jsonwebtoken, which has no EdDSA and no cache, and lets no
 * option replace it (passport-jwt#236, #258); JwtStrategy.JwtVerifier, the function it calls, is the
 * one way in. Given our verifier as its key (below), it is our verifier that checks: the guard and
 * users.verify_token share it. Any other key still goes to jsonwebtoken, as passport-jwt does.
 */
const jsonwebtokenVerifier = strategyStatics.JwtVerifier;
strategyStatics.JwtVerifier = (token, key, options, done) => {
  if (!(key instanceof AccessTokenVerifier)) return jsonwebtokenVerifier(token, key, options, done);
  key.checkSignature(token).then(
    (claims) => done(null, claims),
    (error: unknown) => done(error),
  );
};

/**
 * The passport-jwt strategy of access tokens, of one app (a strategy registered on passport's global
 * authenticator would be shared by every app in the process; the guard runs it itself, runStrategy):
 * it takes the token of the request, AccessTokenVerifier checks its signature and claims, then its
 * user and session; the user is the strategy's outcome, the claims go to `request[ACCESS_TOKEN_CLAIMS]`.
 */
export function accessTokenStrategy(verifier: AccessTokenVerifier): Strategy {
  return new Strategy(
    {
      jwtFromRequest: accessTokenOf,
      secretOrKey: verifier as unknown as Buffer, // (for JwtStrategy.JwtVerifier above; typed as jsonwebtoken's keys)
      passReqToCallback: true,
    },
    (request: FastifyRequest, claims: AccessTokenClaims, done: (error: unknown, user?: unknown) => void) => {
      verifier.checkSession(claims).then(
        (user) => {
          Object.assign(request, { [ACCESS_TOKEN_CLAIMS]: claims });
          done(null, user);
        },
        (error: unknown) => done(error),
      );
    },
  );
}
