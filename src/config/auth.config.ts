import { createSecretKey } from 'node:crypto';
import { registerAs } from '@nestjs/config';
import { Transform } from 'class-transformer';
import { IsBoolean, IsString, ValidateIf } from 'class-validator';
import { IsDuration, IsIntegerBetween, IsRegExp, IsSecret, durationMs, toBoolean, validateConfig } from './validate-config';

class AuthEnv {
  @IsSecret()
  USERS_SECRET_KEY: string;

  /**
   * The key before the last rotation: tokens it signed and mail links it sealed keep working until they
   * expire (nothing new is signed or sealed with it). Drop it once the longest lifetime has passed.
   */
  @ValidateIf((env: AuthEnv) => env.USERS_SECRET_KEY_PREVIOUS !== undefined)
  @IsSecret()
  USERS_SECRET_KEY_PREVIOUS?: string;

  @IsString()
  USERS_JWT_ISSUER = 'users';

  @IsString()
  USERS_JWT_AUDIENCE = 'users';

  @IsDuration()
  USERS_ACCESS_TOKEN_DURATION = '15m';

  @IsDuration()
  USERS_REFRESH_TOKEN_DURATION = '24h';

  @IsRegExp()
  USERS_PASS_REGEX = '^.{8,}$';

  /** argon2id memory cost in KiB; the default is OWASP's minimum for argon2id. */
  @IsIntegerBetween(1024)
  USERS_ARGON2_MEMORY_KIB = 19456;

  @IsIntegerBetween(1, 20)
  USERS_ARGON2_ITERATIONS = 2;

  @IsIntegerBetween(1, 16)
  USERS_ARGON2_PARALLELISM = 1;

  @Transform(toBoolean)
  @IsBoolean()
  USERS_ALLOW_SELF_REGISTER = true;

  @Transform(toBoolean)
  @IsBoolean()
  USERS_ALLOW_UNVERIFIED_USER = false;

  /** A self-service e-mail change needs a login this recent, or the current password (#8 finding 3). */
  @IsDuration()
  USERS_REAUTH_WINDOW = '10m';
}

export const authConfig = registerAs('auth', () => {
  const env = validateConfig(process.env, AuthEnv);
  return {
    secretKey: env.USERS_SECRET_KEY,
    /** The HS256 key as a KeyObject, built once: given a string, jsonwebtoken first tries to parse it as a PEM key on every call. */
    jwtKey: createSecretKey(Buffer.from(env.USERS_SECRET_KEY)),
    /** Set during a key rotation: still accepted for verifying and unsealing, never used to sign or seal. */
    previousSecretKey: env.USERS_SECRET_KEY_PREVIOUS,
    previousJwtKey: env.USERS_SECRET_KEY_PREVIOUS ? createSecretKey(Buffer.from(env.USERS_SECRET_KEY_PREVIOUS)) : undefined,
    issuer: env.USERS_JWT_ISSUER,
    audience: env.USERS_JWT_AUDIENCE,
    accessTokenTtlMs: durationMs(env.USERS_ACCESS_TOKEN_DURATION),
    refreshTokenTtlMs: durationMs(env.USERS_REFRESH_TOKEN_DURATION),
    passwordPattern: new RegExp(env.USERS_PASS_REGEX),
    argon2: { memoryCost: env.USERS_ARGON2_MEMORY_KIB, timeCost: env.USERS_ARGON2_ITERATIONS, parallelism: env.USERS_ARGON2_PARALLELISM },
    allowSelfRegister: env.USERS_ALLOW_SELF_REGISTER,
    allowUnverifiedUser: env.USERS_ALLOW_UNVERIFIED_USER,
    reauthWindowMs: durationMs(env.USERS_REAUTH_WINDOW),
  };
});

export type AuthConfig = ReturnType<typeof authConfig>;
