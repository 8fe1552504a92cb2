import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { registerAs } from '@nestjs/config';
import { Transform } from 'class-transformer';
import { IsBoolean, IsEmail, IsOptional, IsString, IsUrl, ValidateIf } from 'class-validator';
import { APP_ROOT } from './app-root';
import { PublicUrlEnv, URL_OPTIONS, publicLink } from './public-url';
import { ConfigError, IsDuration, IsIntegerBetween, durationMs, toBoolean, unlessEmpty, validateConfig } from './validate-config';

class MailEnv extends PublicUrlEnv {
  /** `localhost` when unset; set but empty: mails are written to the log instead (the development default). */
  @IsOptional()
  @IsString()
  EMAIL_HOST?: string;

  @IsIntegerBetween(1, 65535)
  EMAIL_PORT = 25;

  @IsOptional()
  @IsString()
  EMAIL_USERNAME = '';

  @IsOptional()
  @IsString()
  EMAIL_PASSWORD = '';

  /**
   * Send only over TLS: STARTTLS must succeed (nodemailer's requireTLS), so that reset links and the
   * SMTP password cannot be read by a network attacker who strips STARTTLS from the server's answer.
   * Unset: on when EMAIL_PASSWORD is set. Port 465 is TLS from the first byte either way.
   */
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean({ message: 'EMAIL_REQUIRE_TLS must be true or false' })
  EMAIL_REQUIRE_TLS?: boolean;

  @IsOptional()
  @IsEmail()
  EMAIL_FROM_ADDRESS?: string;

  @IsOptional()
  @IsString()
  EMAIL_FROM_NAME = '';

  /** Shown in every mail (`{{site_name}}`). */
  @IsString()
  EMAIL_SITE_NAME = 'Users service';

  @IsString()
  EMAIL_VERIFICATION_SUBJECT = 'Verify your e-mail address';

  @IsString()
  EMAIL_PASSWORD_RESET_SUBJECT = 'Reset your password';

  @IsString()
  EMAIL_INVITE_SUBJECT = 'You are invited';

  /** At most one mail of a kind to an address per interval (GoTrue's SMTP_MAX_FREQUENCY); 0: no throttle. */
  @IsDuration({ zeroMeans: 'no throttle' })
  EMAIL_MIN_INTERVAL = '60s';

  /** Wait before the first retry of a mail the SMTP server did not take; doubles up to 10 minutes. */
  @IsDuration()
  EMAIL_RETRY_DELAY = '5s';

  /** USERS_PUBLIC_URL/verify-email when unset (this service answers the link itself). */
  @ValidateIf((env: MailEnv) => env.VERIFICATION_URL_PREFIX !== undefined)
  @IsUrl(URL_OPTIONS)
  VERIFICATION_URL_PREFIX?: string;

  @IsString()
  VERIFICATION_EMAIL_TEMPLATE = 'templates/verification-email.hbs';

  /** Set: GET /verify-email answers with a redirect there (with `?error=<code>` on failure). */
  @ValidateIf((env: MailEnv) => env.VERIFICATION_REDIRECT_URL !== undefined)
  @IsUrl(URL_OPTIONS)
  VERIFICATION_REDIRECT_URL?: string;

  @IsUrl(URL_OPTIONS)
  PASSWORD_RESET_URL_PREFIX = 'http://localhost/password/reset';

  @IsString()
  PASSWORD_RESET_EMAIL_TEMPLATE = 'templates/reset-password-email.hbs';

  /** Where the invite's set-password link points; PASSWORD_RESET_URL_PREFIX when unset. */
  @ValidateIf((env: MailEnv) => env.INVITE_URL_PREFIX !== undefined)
  @IsUrl(URL_OPTIONS)
  INVITE_URL_PREFIX?: string;

  @IsString()
  INVITE_EMAIL_TEMPLATE = 'templates/invite-email.hbs';

  @IsDuration()
  USERS_VERIFICATION_TOKEN_DURATION = '24h';

  @IsDuration()
  USERS_RESET_TOKEN_DURATION = '15m';

  @IsDuration()
  USERS_INVITE_TOKEN_DURATION = '72h';
}

const TEMPLATE_VARIABLES = ['VERIFICATION_EMAIL_TEMPLATE', 'PASSWORD_RESET_EMAIL_TEMPLATE', 'INVITE_EMAIL_TEMPLATE'] as const;

export const mailConfig = registerAs('mail', () => {
  const env = validateConfig(process.env, MailEnv);
  const templates = Object.fromEntries(TEMPLATE_VARIABLES.map((name) => [name, isAbsolute(env[name]) ? env[name] : resolve(APP_ROOT, env[name])]));
  const missing = TEMPLATE_VARIABLES.filter((name) => !existsSync(templates[name]));
  if (missing.length > 0) {
    throw new ConfigError(missing.map((name) => `${name}: no such file ${templates[name]}`));
  }
  const host = unlessEmpty(process.env, 'EMAIL_HOST', env.EMAIL_HOST ?? 'localhost');
  return {
    /** Undefined: log mails instead of sending them. */
    smtp: host
      ? { host, port: env.EMAIL_PORT, username: env.EMAIL_USERNAME, password: env.EMAIL_PASSWORD, requireTls: env.EMAIL_REQUIRE_TLS ?? env.EMAIL_PASSWORD !== '' }
      : undefined,
    from: { name: env.EMAIL_FROM_NAME, address: env.EMAIL_FROM_ADDRESS ?? 'no-reply@localhost' },
    siteName: env.EMAIL_SITE_NAME,
    minIntervalMs: durationMs(env.EMAIL_MIN_INTERVAL),
    retryDelayMs: durationMs(env.EMAIL_RETRY_DELAY),
    verificationRedirectUrl: env.VERIFICATION_REDIRECT_URL,
    kinds: {
      verification: {
        subject: env.EMAIL_VERIFICATION_SUBJECT,
        template: templates.VERIFICATION_EMAIL_TEMPLATE,
        urlPrefix: env.VERIFICATION_URL_PREFIX ?? publicLink(env.USERS_PUBLIC_URL, '/verify-email'),
        ttlMs: durationMs(env.USERS_VERIFICATION_TOKEN_DURATION),
      },
      password_reset: {
        subject: env.EMAIL_PASSWORD_RESET_SUBJECT,
        template: templates.PASSWORD_RESET_EMAIL_TEMPLATE,
        urlPrefix: env.PASSWORD_RESET_URL_PREFIX,
        ttlMs: durationMs(env.USERS_RESET_TOKEN_DURATION),
      },
      invite: {
        subject: env.EMAIL_INVITE_SUBJECT,
        template: templates.INVITE_EMAIL_TEMPLATE,
        urlPrefix: env.INVITE_URL_PREFIX ?? env.PASSWORD_RESET_URL_PREFIX,
        ttlMs: durationMs(env.USERS_INVITE_TOKEN_DURATION),
      },
    },
  };
});

export type MailConfig = ReturnType<typeof mailConfig>;
export type MailKind = keyof MailConfig['kinds'];
