import { registerAs } from '@nestjs/config';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, IsString, Matches } from 'class-validator';
import { Rate, parseRate } from './rate';
import { IsRate, toBoolean, validateConfig } from './validate-config';

class RateLimitEnv {
  /** false: no rate limit and no login lockout at all (benchmarks, load tests). */
  @Transform(toBoolean)
  @IsBoolean()
  USERS_RATE_LIMIT_ENABLED = true;

  /** Logins (token issue) per client IP. */
  @IsRate()
  USERS_RATE_LIMIT_TOKEN = '30/5m';

  /** Refresh-token uses per client IP (the cookie session's refresh too). */
  @IsRate()
  USERS_RATE_LIMIT_REFRESH = '150/5m';

  /** Anonymous registrations per client IP. */
  @IsRate()
  USERS_RATE_LIMIT_SIGNUP = '30/5m';

  /** Requests that mail someone (password-reset request, verification mail, invitation) per client IP. */
  @IsRate()
  USERS_RATE_LIMIT_EMAIL = '30/5m';

  /** The same requests per recipient: per account or address, whatever the client IP. */
  @IsRate()
  USERS_RATE_LIMIT_EMAIL_ACCOUNT = '10/1h';

  /** Failed logins per account after which further attempts on it are refused until the window ends. */
  @IsRate()
  USERS_LOGIN_LOCKOUT = '10/15m';

  /** Where the counters live, shared by every replica (redis://host:6379, rediss:// for TLS). Unset: each replica counts alone. */
  @IsOptional()
  @Matches(/^rediss?:\/\/\S+$/, { message: 'USERS_REDIS_URL must be a redis:// or rediss:// URL (got "$value")' })
  USERS_REDIS_URL?: string;

  /** Prefix of the service's keys in Redis, so that several deployments can share one Redis. */
  @IsString()
  USERS_REDIS_KEY_PREFIX = 'users:';
}

export type RateLimitName = 'token' | 'refresh' | 'signup' | 'email' | 'email-account';

export const rateLimitConfig = registerAs('rateLimit', () => {
  const env = validateConfig(process.env, RateLimitEnv);
  const rate = (value: string) => parseRate(value) as Rate;
  return {
    enabled: env.USERS_RATE_LIMIT_ENABLED,
    limits: {
      token: rate(env.USERS_RATE_LIMIT_TOKEN),
      refresh: rate(env.USERS_RATE_LIMIT_REFRESH),
      signup: rate(env.USERS_RATE_LIMIT_SIGNUP),
      email: rate(env.USERS_RATE_LIMIT_EMAIL),
      'email-account': rate(env.USERS_RATE_LIMIT_EMAIL_ACCOUNT),
    } satisfies Record<RateLimitName, Rate>,
    loginLockout: rate(env.USERS_LOGIN_LOCKOUT),
    redisUrl: env.USERS_REDIS_URL,
    redisKeyPrefix: env.USERS_REDIS_KEY_PREFIX,
  };
});

export type RateLimitConfig = ReturnType<typeof rateLimitConfig>;
