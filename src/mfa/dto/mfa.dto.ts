import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, IsOptional, IsString, IsUUID, Length, Matches, MaxLength } from 'class-validator';

/** A second factor of the user. */
export class FactorDto {
  /** @example 3f0e2f4c-1b6a-4c4e-9a51-2f1f0b6c8d10 */
  id: string;
  /** `totp` (an authenticator app's codes) or `webauthn` (a passkey). */
  @ApiProperty({ enum: ['totp', 'webauthn'] })
  factor_type: 'totp' | 'webauthn';
  /** @example Phone */
  friendly_name: string | null;
  /** `unverified` until its first code is verified (POST /users/tokens/step-up); only verified factors count for sign-in. */
  @ApiProperty({ enum: ['unverified', 'verified'] })
  status: 'unverified' | 'verified';
  created_at: string;
  updated_at: string;
  verified_at: string | null;
  /** When a passkey last signed in or answered a challenge; null for TOTP factors and unused passkeys. */
  last_used_at: string | null;
}

export class FactorsDto {
  factors: FactorDto[];
}

export class TotpSecretDto {
  /** The shared secret, base32 (for typing into an authenticator app). @example JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP */
  secret: string;
  /** The otpauth:// URI (RFC 6238 parameters: SHA1, 6 digits, 30 s). @example otpauth://totp/Users:ada%40example.com?issuer=Users&secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&period=30 */
  uri: string;
  /** The URI as a QR code, an SVG document, for the app to scan. */
  qr_code: string;
}

/** A new factor, with its secret: shown this once. */
export class EnrolledFactorDto {
  factor: FactorDto;
  totp: TotpSecretDto;
}

export class EnrollFactorDto {
  /** A name to tell the factors apart (unique per user). @example Phone */
  @IsOptional()
  @IsString()
  @Length(1, 255)
  friendly_name?: string;

  /** The issuer the authenticator app shows; default USERS_MFA_TOTP_ISSUER. @example Example */
  @IsOptional()
  @IsString()
  @Length(1, 64)
  @Matches(/^[^:]+$/, { message: 'issuer must not contain a colon' })
  issuer?: string;
}

export class RenameFactorDto {
  /** @example Work phone */
  @IsString()
  @Length(1, 255)
  friendly_name: string;
}

/** Ten single-use codes, each a sign-in's second factor in place of a TOTP code: shown this once, keep them safe. */
export class RecoveryCodesDto {
  /** @example ["3k9qf-7x2mz","…"] */
  recovery_codes: string[];
}

/** A second factor: a factor's current code, or a recovery code. */
export class SecondFactorDto {
  /** The factor the code is of; may be left out when the user has exactly one verified factor. */
  @IsOptional()
  @IsUUID()
  factor_id?: string;

  /** The six-digit code the authenticator app shows now. */
  @ApiProperty({ required: false, example: '123456' })
  @IsOptional()
  @IsString()
  @MaxLength(16)
  code?: string;

  /** One of the user's recovery codes, instead of `code` (it is spent). @example 3k9qf-7x2mz */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  recovery_code?: string;

  /** With `webauthn`: the `challenge_id` of the passkey options (POST /users/tokens/mfa/passkey-options or /users/tokens/step-up/passkey-options). */
  @IsOptional()
  @IsUUID()
  challenge_id?: string;

  /** Instead of `code`: a passkey's assertion, navigator.credentials.get()'s credential as JSON (PublicKeyCredential.toJSON()). */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @IsOptional()
  @IsObject()
  webauthn?: AuthenticationResponseJSON;
}

export class CompleteMfaLoginDto extends SecondFactorDto {
  /** The `mfa_token` of POST /users/tokens/issue's MFA challenge. */
  @IsString()
  @MaxLength(2048)
  mfa_token: string;
}

export class ChallengeFactorDto {
  id: string;
  @ApiProperty({ enum: ['totp', 'webauthn'] })
  factor_type: 'totp' | 'webauthn';
  friendly_name: string | null;
}

/** A password login of a user with a verified factor: no session yet, but a challenge to complete with POST /users/tokens/mfa. */
export class MfaChallengeDto {
  @ApiProperty({ enum: [true] })
  mfa_required: true;
  /** Opaque and short-lived (USERS_MFA_CHALLENGE_DURATION): send it to POST /users/tokens/mfa with a code. */
  mfa_token: string;
  /** Seconds the challenge can be completed in. @example 300 */
  expires_in: number;
  /** The verified factors whose code completes it (or use a recovery code). */
  factors: ChallengeFactorDto[];
}

/** Options for the browser's WebAuthn call, and the single-use challenge they carry. */
export class PasskeyOptionsDto {
  /** Send it back with the browser's answer; it works once, within USERS_MFA_CHALLENGE_DURATION. */
  challenge_id: string;
  /**
   * The WebAuthn options as JSON (PublicKeyCredentialCreationOptionsJSON or PublicKeyCredentialRequestOptionsJSON):
   * give them to PublicKeyCredential.parseCreationOptionsFromJSON / parseRequestOptionsFromJSON (or @simplewebauthn/browser).
   */
  @ApiProperty({ type: 'object', additionalProperties: true })
  options: object;
}

/** The answer to a passkey challenge: navigator.credentials.create() or get()'s credential as JSON, with the challenge's id. */
class PasskeyResponseDto {
  /** The `challenge_id` of the options. */
  @IsUUID()
  challenge_id: string;
}

export class RegisterPasskeyDto extends PasskeyResponseDto {
  /** The new credential as JSON (PublicKeyCredential.toJSON()). */
  @ApiProperty({ type: 'object', additionalProperties: true })
  @IsObject()
  response: RegistrationResponseJSON;

  /** A name to tell the factors apart (unique per user). @example Laptop */
  @IsOptional()
  @IsString()
  @Length(1, 255)
  friendly_name?: string;
}

export class PasskeySignInDto extends PasskeyResponseDto {
  /** The assertion as JSON (PublicKeyCredential.toJSON()). */
  @ApiProperty({ type: 'object', additionalProperties: true })
  @IsObject()
  response: AuthenticationResponseJSON;
}

/** The `mfa_token` of a password login's MFA challenge, to be answered with a passkey. */
export class MfaPasskeyOptionsDto {
  @IsString()
  @MaxLength(2048)
  mfa_token: string;
}

/** A registered passkey, and the recovery codes when it is the user's first factor: shown this once. */
export class RegisteredPasskeyDto {
  factor: FactorDto;
  recovery_codes?: string[];
}
