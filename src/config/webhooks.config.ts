import { registerAs } from '@nestjs/config';
import { IsOptional, IsString, IsUrl, Matches, ValidateIf } from 'class-validator';
import { goTrueValue } from './gotrue.config';
import { URL_OPTIONS } from './public-url';
import { ConfigError, IsIntegerBetween, IsSecret, validateConfig } from './validate-config';

/** GoTrue's hook events: `validate` before a sign-up is written, `signup` and `login` after. */
export const WEBHOOK_EVENTS = ['validate', 'signup', 'login'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

const NAMES = ['WEBHOOK_URL', 'WEBHOOK_SECRET', 'WEBHOOK_RETRIES', 'WEBHOOK_TIMEOUT_SEC', 'WEBHOOK_EVENTS'] as const;

/** GoTrue's WEBHOOK_* settings, under GoTrue's names (also read with its GOTRUE_ prefix, which wins). */
class WebhooksEnv {
  /** The receiver; unset or empty: no webhooks. */
  @IsOptional()
  @IsUrl(URL_OPTIONS, { message: 'WEBHOOK_URL must be an http(s) URL such as https://hooks.example.com/gotrue' })
  WEBHOOK_URL?: string;

  /** Signs each request (HS256 JWS in x-webhook-signature): required with a URL, since an unsigned hook can be forged. */
  @ValidateIf((env: WebhooksEnv) => env.WEBHOOK_URL !== undefined)
  @IsSecret(16)
  WEBHOOK_SECRET?: string;

  /** Attempts the receiver may refuse (a 4xx answer) before a delivery is given up; a receiver that is down does not use them up. */
  @IsIntegerBetween(1, 100)
  WEBHOOK_RETRIES = 3;

  /** How long one request may take; a `validate` that takes longer refuses the sign-up. */
  @IsIntegerBetween(1, 120)
  WEBHOOK_TIMEOUT_SEC = 5;

  @IsString()
  @Matches(/^\s*(validate|signup|login)\s*(,\s*(validate|signup|login)\s*)*$/, { message: 'WEBHOOK_EVENTS must be a comma-separated list of validate, signup and login' })
  WEBHOOK_EVENTS = 'validate,signup,login';
}

export const webhooksConfig = registerAs('webhooks', () => {
  const env = validateConfig(Object.fromEntries(NAMES.map((name) => [name, goTrueValue(process.env, name)])), WebhooksEnv);
  // fetch refuses a URL with credentials: every request would fail, so say it now.
  if (env.WEBHOOK_URL && (new URL(env.WEBHOOK_URL).username || new URL(env.WEBHOOK_URL).password)) {
    throw new ConfigError(['WEBHOOK_URL must not carry a user or password (the receiver checks the signature made with WEBHOOK_SECRET)']);
  }
  const events = new Set(env.WEBHOOK_EVENTS.split(',').map((event) => event.trim() as WebhookEvent));
  return {
    /** Undefined: no webhooks at all. */
    url: env.WEBHOOK_URL,
    secret: env.WEBHOOK_SECRET ?? '',
    retries: env.WEBHOOK_RETRIES,
    timeoutMs: env.WEBHOOK_TIMEOUT_SEC * 1000,
    /** The events sent (none without a URL). */
    events: env.WEBHOOK_URL ? events : new Set<WebhookEvent>(),
  };
});

export type WebhooksConfig = ReturnType<typeof webhooksConfig>;
