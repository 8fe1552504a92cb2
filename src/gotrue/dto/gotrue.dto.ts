import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsObject, IsOptional, IsString, MaxLength } from 'class-validator';
import { IsMetadata, IsNormalizedEmail } from '../../common/validation/validators';

/**
 * Fields GoTrue's clients send that this service takes and ignores: the captcha token
 * (`gotrue_meta_security`), and the PKCE challenge auth-js adds to e-mail flows (`code_challenge`,
 * `code_challenge_method`; null in its implicit flow), so that their bodies are not refused as unknown.
 */
class ClientExtrasDto {
  /** Ignored (no captcha here). */
  @IsOptional()
  @IsObject()
  gotrue_meta_security?: Record<string, unknown>;

  /** Ignored: the mailed links of this service carry the session to the redirect (implicit flow). */
  @IsOptional()
  @IsString()
  @MaxLength(256)
  code_challenge?: string;

  /** Ignored, as `code_challenge`. */
  @IsOptional()
  @IsString()
  @MaxLength(16)
  code_challenge_method?: string;
}

export class GoTrueRedirectQueryDto {
  /** Where the mailed link lands: a page under SITE_URL or an origin of OAUTH_ALLOWED_REDIRECT_ORIGINS (else SITE_URL). @example https://app.example.com/welcome */
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  redirect_to?: string;
}

export class GoTrueSignupDto extends ClientExtrasDto {
  /** @example ada@example.com */
  @IsNormalizedEmail()
  email: string;

  /** Must meet the password policy (USERS_PASS_REGEX and the common-password checks). @example correct-horse-battery */
  @IsString()
  @MaxLength(1024)
  password: string;

  /** GoTrue's `user_metadata`: our `metadata` (at most 16 KiB). @example {"team":"core"} */
  @IsOptional()
  @IsMetadata()
  data?: Record<string, unknown>;
}

export const GRANT_TYPES = ['password', 'refresh_token', 'pkce'] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

export class GoTrueTokenQueryDto {
  /** The grant; in the body instead when absent here. */
  @ApiProperty({ enum: GRANT_TYPES, example: 'password', required: false })
  @IsOptional()
  @IsIn(GRANT_TYPES)
  grant_type?: GrantType;
}

/** The body of either grant: `email` and `password` (grant_type=password) or `refresh_token` (grant_type=refresh_token); JSON or form-encoded. */
export class GoTrueTokenDto extends ClientExtrasDto {
  /** The query's grant_type again (OAuth form posts carry it in the body; gotrue-js does). */
  @ApiProperty({ enum: GRANT_TYPES, required: false })
  @IsOptional()
  @IsIn(GRANT_TYPES)
  grant_type?: GrantType;

  /** grant_type=password: the e-mail address (a username works too). @example ada@example.com */
  @IsOptional()
  @IsString()
  @MaxLength(320)
  email?: string;

  /** The same as `email` (OAuth's password grant, as gotrue-js sends it). */
  @IsOptional()
  @IsString()
  @MaxLength(320)
  username?: string;

  /** grant_type=password. @example correct-horse-battery */
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  password?: string;

  /** grant_type=refresh_token. */
  @IsOptional()
  @IsString()
  @MaxLength(512)
  refresh_token?: string;

  /** grant_type=pkce: the `code` the OAuth sign-in redirected with. */
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  auth_code?: string;

  /** grant_type=pkce: the verifier of the code challenge /authorize was given. */
  @IsOptional()
  @IsString()
  @MaxLength(256)
  code_verifier?: string;
}

export class GoTrueAuthorizeQueryDto extends GoTrueRedirectQueryDto {
  /** An enabled provider (GET /settings' `external`). @example github */
  @IsString()
  @MaxLength(32)
  provider: string;

  /** PKCE (auth-js's flowType 'pkce'): the session comes back as `?code=` for POST /token?grant_type=pkce. */
  @IsOptional()
  @IsString()
  @MaxLength(256)
  code_challenge?: string;

  @ApiProperty({ enum: ['s256', 'S256', 'plain'], required: false })
  @IsOptional()
  @IsIn(['s256', 'S256', 'plain'])
  code_challenge_method?: string;

  /** Ignored: the provider's scopes are this service's configuration. */
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  scopes?: string;
}

export class GoTrueUpdateUserDto extends ClientExtrasDto {
  /** A new address: unverified until the link mailed to it is followed (a notice goes to the old one). @example ada@example.org */
  @IsOptional()
  @IsNormalizedEmail()
  email?: string;

  /** A new password: needs a sign-in within USERS_REAUTH_WINDOW, or `current_password`. Every other session ends. */
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  password?: string;

  /** The current password, when the session's sign-in is older than USERS_REAUTH_WINDOW. */
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  current_password?: string;

  /** Merged into `user_metadata` (our `metadata`): a key set to null is removed. @example {"theme":"dark"} */
  @IsOptional()
  @IsMetadata()
  data?: Record<string, unknown>;

  /** Not used here (GoTrue's reauthentication nonce): give `current_password` instead. */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  nonce?: string;
}

export const LOGOUT_SCOPES = ['global', 'local', 'others'] as const;
export type LogoutScope = (typeof LOGOUT_SCOPES)[number];

export class GoTrueLogoutQueryDto {
  /** global: every session of the user; local: this one; others: all but this one. */
  @ApiProperty({ enum: LOGOUT_SCOPES, required: false, default: 'global' })
  @IsOptional()
  @IsIn(LOGOUT_SCOPES)
  scope?: LogoutScope;
}

export class GoTrueRecoverDto extends ClientExtrasDto {
  /** @example ada@example.com */
  @IsNormalizedEmail()
  email: string;
}

/** The link types of /verify: `signup` and `email_change` spend a verification link, `recovery` and `invite` a recovery or invite link. */
export const VERIFY_TYPES = ['signup', 'email_change', 'recovery', 'invite'] as const;
export type VerifyType = (typeof VERIFY_TYPES)[number];

export class GoTrueVerifyDto extends ClientExtrasDto {
  @ApiProperty({ enum: VERIFY_TYPES, example: 'signup' })
  @IsIn(VERIFY_TYPES)
  type: VerifyType;

  /** The token of the mailed link (`token` or `token_hash`: the same here). */
  @IsOptional()
  @IsString()
  @MaxLength(512)
  token?: string;

  /** The same as `token` (auth-js's verifyOtp({token_hash})). */
  @IsOptional()
  @IsString()
  @MaxLength(512)
  token_hash?: string;

  /** Accepted and not needed: the token names its user. @example ada@example.com */
  @IsOptional()
  @IsString()
  @MaxLength(320)
  email?: string;

  /**
   * With a recovery or invitation link: sets this password (netlify GoTrue's invitation acceptance,
   * gotrue-js's acceptInvite), as PUT /password/reset does, then signs in.
   */
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  password?: string;

  /** Where a successful verification would redirect; the answer here is the session itself. */
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  redirect_to?: string;
}

export class GoTrueVerifyQueryDto extends GoTrueRedirectQueryDto {
  @ApiProperty({ enum: VERIFY_TYPES, example: 'signup' })
  @IsIn(VERIFY_TYPES)
  type: VerifyType;

  /** The token of the mailed link. */
  @IsString()
  @MaxLength(512)
  token: string;
}

export class GoTrueInviteDto {
  /** @example grace@example.com */
  @IsNormalizedEmail()
  email: string;

  /** Not kept (an invitation carries no metadata here); accepted for auth-js's inviteUserByEmail. */
  @IsOptional()
  @IsObject()
  data?: Record<string, unknown>;
}

/** GoTrue's identity: one per way the user signs in (`email`, or an OAuth provider). */
export class GoTrueIdentityDto {
  /** The identity's id at its provider (the user id for `email`). */
  id: string;
  identity_id: string;
  user_id: string;
  /** @example email */
  provider: string;
  identity_data: Record<string, unknown>;
  email: string | null;
  created_at: string;
  updated_at: string;
  last_sign_in_at: string | null;
}

export class GoTrueAppMetadataDto {
  /** How the account was made: `email`, or the OAuth provider. @example email */
  provider: string;
  /** @example ["email"] */
  providers: string[];
  /** Our role (user or admin), which the access token's `role` claim also carries. @example user */
  role: string;
}

/** GoTrue's user object, over our user. */
export class GoTrueUserDto {
  /** @example c0b0c68c-5b93-4a93-8f1a-5d63a3f5c3c7 */
  id: string;
  /** The access tokens' audience (USERS_JWT_AUDIENCE, GoTrue's JWT_AUD). @example users */
  aud: string;
  /** GoTrue's database role: always `authenticated` (our role is in app_metadata.role). @example authenticated */
  role: string;
  /** @example ada@example.com */
  email: string;
  /** Always empty (no phone sign-in). @example "" */
  phone: string;
  /** Our verified_at. */
  email_confirmed_at: string | null;
  /** Our verified_at. */
  confirmed_at: string | null;
  last_sign_in_at: string | null;
  app_metadata: GoTrueAppMetadataDto;
  /** Our metadata. @example {"team":"core"} */
  user_metadata: Record<string, unknown>;
  identities: GoTrueIdentityDto[];
  /** The second factors (TOTP), when the user has any: auth-js's mfa.listFactors and getAuthenticatorAssuranceLevel read them. */
  factors?: GoTrueFactorDto[];
  is_anonymous: boolean;
  created_at: string;
  updated_at: string;
}

/** GoTrue's session: an access token (the same JWT as POST /users/tokens/issue's) and a refresh token. */
export class GoTrueSessionDto {
  access_token: string;
  /** @example bearer */
  token_type: string;
  /** Seconds the access token lasts. @example 900 */
  expires_in: number;
  /** When it expires (Unix seconds: its `exp`). @example 1735689600 */
  expires_at: number;
  refresh_token: string;
  user: GoTrueUserDto;
}

export class GoTrueSettingsDto {
  /** Each GoTrue provider, and whether it is enabled here (`email`: always). @example {"email":true,"github":false,"google":false} */
  external: Record<string, boolean>;
  /** USERS_ALLOW_SELF_REGISTER=false (GoTrue's DISABLE_SIGNUP). */
  disable_signup: boolean;
  /** USERS_ALLOW_UNVERIFIED_USER (GoTrue's MAILER_AUTOCONFIRM). */
  mailer_autoconfirm: boolean;
  /** The same as mailer_autoconfirm (the name of netlify GoTrue's /settings). */
  autoconfirm: boolean;
  /** No phone sign-in. */
  phone_autoconfirm: boolean;
  /** No SMS provider. @example "" */
  sms_provider: string;
  saml_enabled: boolean;
}

/** GoTrue's error body (`code` is the HTTP status, `error_code` the machine-readable reason). */
export class GoTrueErrorDto {
  /** @example 422 */
  code: number;
  /** @example user_already_exists */
  error_code: string;
  /** @example User already registered */
  msg: string;
  /** Only on POST /token: OAuth 2.0's error. @example invalid_grant */
  error?: string;
  /** Only on POST /token: the same as msg. @example Invalid login credentials */
  error_description?: string;
  /** Only for a refused password: the policy's reasons. */
  weak_password?: { reasons: string[] };
}

/** GoTrue's factor (the user object's `factors`). */
export class GoTrueFactorDto {
  id: string;
  friendly_name?: string;
  /** `webauthn`: a passkey (registered and used through /users/mfa/passkeys and /users/tokens/passkey). */
  @ApiProperty({ enum: ['totp', 'webauthn'] })
  factor_type: 'totp' | 'webauthn';
  @ApiProperty({ enum: ['unverified', 'verified'] })
  status: 'unverified' | 'verified';
  created_at: string;
  updated_at: string;
}

/** POST /factors: auth-js's mfa.enroll. Only `totp` here (no phone, and no WebAuthn yet). */
export class GoTrueEnrollDto {
  @ApiProperty({ enum: ['totp', 'phone', 'webauthn'] })
  @IsIn(['totp', 'phone', 'webauthn'])
  factor_type: 'totp' | 'phone' | 'webauthn';

  @IsOptional()
  @IsString()
  @MaxLength(255)
  friendly_name?: string;

  @IsOptional()
  @IsString()
  @MaxLength(64)
  issuer?: string;

  /** For phone factors, which are not offered. */
  @IsOptional()
  @IsString()
  @MaxLength(32)
  phone?: string;
}

export class GoTrueTotpDto {
  /** The QR code of `uri`, an SVG document (auth-js makes it a data: URL). */
  qr_code: string;
  secret: string;
  uri: string;
}

export class GoTrueEnrolledDto {
  id: string;
  @ApiProperty({ enum: ['totp'] })
  type: 'totp';
  friendly_name: string;
  totp: GoTrueTotpDto;
}

/** POST /factors/{id}/challenge: auth-js sends its own parameters back (`factorId`, and `channel` for phone factors). */
export class GoTrueChallengeDto {
  @IsOptional()
  @IsString()
  @MaxLength(64)
  factorId?: string;

  @IsOptional()
  @IsString()
  @MaxLength(16)
  channel?: string;
}

export class GoTrueChallengeAnswerDto {
  /** The challenge to verify with POST /factors/{id}/verify (opaque). */
  id: string;
  @ApiProperty({ enum: ['totp'] })
  type: 'totp';
  /** Unix seconds. */
  expires_at: number;
}

export class GoTrueVerifyFactorDto {
  @IsString()
  @MaxLength(2048)
  challenge_id: string;

  /** The six-digit code of the factor. */
  @ApiProperty({ example: '123456' })
  @IsString()
  @MaxLength(16)
  code: string;
}

export class GoTrueUnenrolledDto {
  id: string;
}
