import { UserRole } from '../users/entities/user.entity';

/** The claims of an access token (besides iss and aud, which the JWT library checks). */
export interface AccessTokenClaims {
  sub: string;
  role: UserRole;
  verified: boolean;
  type: 'access';
  /** The refresh-token family (session) this token was issued with. */
  sid: string;
  jti: string;
  /** Seconds. Revocation never compares it: the session (`sid`) decides, in the database. */
  iat: number;
  exp: number;
}

/** The authenticated request's token, as the auth guard leaves it on the request. */
export const ACCESS_TOKEN_CLAIMS = 'accessTokenClaims';

/** The DI token of the passport authenticator of access tokens (accessTokenAuthenticator). */
export const ACCESS_TOKEN_AUTHENTICATOR = 'ACCESS_TOKEN_AUTHENTICATOR';
