import { registerAs } from '@nestjs/config';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, IsString, Length, Matches } from 'class-validator';
import { PublicUrlEnv } from './public-url';
import { Rate, parseRate } from './rate';
import { ConfigError, IsDuration, IsRate, durationMs, toBoolean, validateConfig } from './validate-config';

class MfaEnv extends PublicUrlEnv {
  /** The issuer an authenticator app shows beside a TOTP factor (the `issuer` of its otpauth:// URI), unless the enrolment names one. */
  @IsString()
  @Length(1, 64)
  USERS_MFA_TOTP_ISSUER = 'Users';

  /**
   * Sensitive operations (change of password or e-mail, removing a verified factor, new recovery codes,
   * admin routes) of a user with a verified factor need a session whose second factor was given
   * within this window (`aal2`, the latest `totp` or `recovery` entry of `amr`).
   */
  @IsDuration()
  USERS_MFA_REAUTH_WINDOW = '10m';

  /** true: an admin without a verified factor is refused on admin routes (403 MFA_ENROLLMENT_REQUIRED) until they enrol one. */
  @Transform(toBoolean)
  @IsBoolean()
  USERS_MFA_REQUIRED_FOR_ADMINS = false;

  /** How long the `mfa_token` of a password login's MFA challenge (and a GoTrue challenge) can be completed. */
  @IsDuration()
  USERS_MFA_CHALLENGE_DURATION = '5m';

  /** Verification attempts (codes, right or wrong) per factor, and recovery-code attempts per user; over it 429 RATE_LIMITED. Off with USERS_RATE_LIMIT_ENABLED=false. */
  @IsRate()
  USERS_MFA_VERIFY_RATE = '5/5m';

  /**
   * The WebAuthn relying party id of passkeys: the domain they are bound to (the UI's host or a parent
   * domain of it). Default: the host of USERS_PUBLIC_URL. Changing it orphans every registered passkey.
   */
  @IsOptional()
  @Matches(/^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/, { message: 'USERS_WEBAUTHN_RP_ID must be a lowercase domain name (no scheme, port or path)' })
  USERS_WEBAUTHN_RP_ID?: string;

  /** The name the browser and the authenticator show for this service when a passkey is made. */
  @IsString()
  @Length(1, 64)
  USERS_WEBAUTHN_RP_NAME = 'Users';

  /**
   * The origins (comma-separated, scheme://host[:port]) of the pages that may register and use passkeys:
   * an assertion made on any other origin is refused. Default: the origin of USERS_PUBLIC_URL.
   */
  @IsOptional()
  @Matches(/^\s*https?:\/\/[^\s,/]+\/?\s*(,\s*https?:\/\/[^\s,/]+\/?\s*)*$/, { message: 'USERS_WEBAUTHN_ORIGINS must be comma-separated origins such as https://app.example.com' })
  USERS_WEBAUTHN_ORIGINS?: string;
}

/** The RP id and origins of passkeys: every origin's host must be the RP id or under it, else no browser would use them. */
function webauthnSettings(env: MfaEnv) {
  const rpId = env.USERS_WEBAUTHN_RP_ID ?? new URL(env.USERS_PUBLIC_URL).hostname;
  const origins = env.USERS_WEBAUTHN_ORIGINS ? env.USERS_WEBAUTHN_ORIGINS.split(',').map((origin) => new URL(origin.trim()).origin) : [new URL(env.USERS_PUBLIC_URL).origin];
  const outside = origins.filter((origin) => {
    const host = new URL(origin).hostname;
    return host !== rpId && !host.endsWith(`.${rpId}`);
  });
  if (outside.length > 0) throw new ConfigError([`USERS_WEBAUTHN_ORIGINS: ${outside.join(', ')} not on USERS_WEBAUTHN_RP_ID ${rpId} or a subdomain of it`]);
  return { rpId, rpName: env.USERS_WEBAUTHN_RP_NAME, origins };
}

export const mfaConfig = registerAs('mfa', () => {
  const env = validateConfig(process.env, MfaEnv);
  return {
    totpIssuer: env.USERS_MFA_TOTP_ISSUER,
    reauthWindowMs: durationMs(env.USERS_MFA_REAUTH_WINDOW),
    requiredForAdmins: env.USERS_MFA_REQUIRED_FOR_ADMINS,
    challengeTtlMs: durationMs(env.USERS_MFA_CHALLENGE_DURATION),
    verifyRate: parseRate(env.USERS_MFA_VERIFY_RATE) as Rate,
    webauthn: webauthnSettings(env),
  };
});

export type MfaConfig = ReturnType<typeof mfaConfig>;
