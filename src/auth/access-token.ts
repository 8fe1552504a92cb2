import { UserRole } from '../users/entities/user.entity';

export type AssuranceLevel = 'aal1' | 'aal2';

/**
 * One step of a sign-in: `password`, `oauth`, `otp` (a mailed link), `totp`, `recovery` (a recovery
 * code) or `webauthn` (a passkey with user verification); `timestamp` in seconds.
 */
export interface AuthenticationMethod {
  method: string;
  timestamp: number;
}

/** What a session's tokens say of how their user signed in. */
export interface Assurance {
  aal: AssuranceLevel;
  amr: AuthenticationMethod[];
}

/** The methods that are a second factor. */
export const SECOND_FACTOR_METHODS = ['totp', 'recovery', 'webauthn'];

/**
 * A passkey sign-in (#16): a passkey whose authenticator verified the user (PIN or biometrics) is
 * something they have and something they know or are, so the session is `aal2` from the start (as
 * NIST SP 800-63B counts a multi-factor cryptographic authenticator, and as GitHub, Google and Okta treat
 * passkeys); its amr is `webauthn`.
 */
export const passkeySignIn = (): Assurance => ({ aal: 'aal2', amr: [{ method: 'webauthn', timestamp: Math.floor(Date.now() / 1000) }] });

/** A session started by one (first) factor. */
export const firstFactor = (method: string): Assurance => ({ aal: 'aal1', amr: [{ method, timestamp: Math.floor(Date.now() / 1000) }] });

/** The assurance of verified claims (a token from before #16 is `aal1`, no methods). */
export const assuranceOf = (claims: AccessTokenClaims | undefined): Assurance => ({ aal: claims?.aal ?? 'aal1', amr: claims?.amr ?? [] });

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
  /**
   * The session's authenticator assurance level (#16): `aal2` once a second factor was given, else
   * `aal1`; and how and when the user authenticated, oldest first (GoTrue's claims, which
   * auth-js's getAuthenticatorAssuranceLevel reads). Absent in tokens issued before #16: `aal1`.
   */
  aal?: AssuranceLevel;
  amr?: AuthenticationMethod[];
  app_metadata?: { provider: string; providers: string[]; role: UserRole };
  user_metadata?: Record<string, unknown>;
}

/** The authenticated request's token, as the auth guard leaves it on the request. */
export const ACCESS_TOKEN_CLAIMS = 'accessTokenClaims';

/** The DI token of the passport-jwt strategy of access tokens (accessTokenStrategy). */
export const ACCESS_TOKEN_STRATEGY = 'ACCESS_TOKEN_STRATEGY';
