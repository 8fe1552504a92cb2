import { createSecretKey } from 'node:crypto';
import { registerAs } from '@nestjs/config';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsInt, IsString, Max, Min, MinLength } from 'class-validator';
import { IsDuration, IsRegExp, durationMs, toBoolean, validateConfig } from './validate-config';

class AuthEnv {
  @IsString({ message: 'USERS_SECRET_KEY is required (at least 32 characters; generate one with `openssl rand -base64 48`)' })
  @MinLength(32, { message: 'USERS_SECRET_KEY must be at least 32 characters long' })
  USERS_SECRET_KEY: string;

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
  @Type(() => Number)
  @IsInt()
  @Min(1024)
  USERS_ARGON2_MEMORY_KIB = 19456;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(20)
  USERS_ARGON2_ITERATIONS = 2;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(16)
  USERS_ARGON2_PARALLELISM = 1;

  @Transform(toBoolean)
  @IsBoolean()
  USERS_ALLOW_SELF_REGISTER = true;

  @Transform(toBoolean)
  @IsBoolean()
  USERS_ALLOW_UNVERIFIED_USER = false;
}

export const authConfig = registerAs('auth', () => {
  const env = validateConfig(process.env, AuthEnv);
  return {
    secretKey: env.USERS_SECRET_KEY,
    /** The HS256 key as a KeyObject, built once: given a string, jsonwebtoken first tries to parse it as a PEM key on every call. */
    jwtKey: createSecretKey(Buffer.from(env.USERS_SECRET_KEY)),
    issuer: env.USERS_JWT_ISSUER,
    audience: env.USERS_JWT_AUDIENCE,
    accessTokenTtlMs: durationMs(env.USERS_ACCESS_TOKEN_DURATION),
    refreshTokenTtlMs: durationMs(env.USERS_REFRESH_TOKEN_DURATION),
    passwordPattern: new RegExp(env.USERS_PASS_REGEX),
    argon2: { memoryCost: env.USERS_ARGON2_MEMORY_KIB, timeCost: env.USERS_ARGON2_ITERATIONS, parallelism: env.USERS_ARGON2_PARALLELISM },
    allowSelfRegister: env.USERS_ALLOW_SELF_REGISTER,
    allowUnverifiedUser: env.USERS_ALLOW_UNVERIFIED_USER,
  };
});

export type AuthConfig = ReturnType<typeof authConfig>;
