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
  /**
   * GoTrue's claims, which its clients read (see src/gotrue): the address, `session_id` (= `sid`), and
   * the metadata. `role` stays ours (user or admin) and is mirrored in `app_metadata.role`; GoTrue's
   * user object says `role: "authenticated"`.
   */
  email?: string;
  session_id?: string;
  app_metadata?: { provider: string; providers: string[]; role: UserRole };
  user_metadata?: Record<string, unknown>;
}

/** The authenticated request's token, as the auth guard leaves it on the request. */
export const ACCESS_TOKEN_CLAIMS = 'accessTokenClaims';

/** The DI token of the passport authenticator of access tokens (accessTokenAuthenticator). */
export const ACCESS_TOKEN_AUTHENTICATOR = 'ACCESS_TOKEN_AUTHENTICATOR';
