import { KeyObject, createPrivateKey, createPublicKey, createSecretKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { registerAs } from '@nestjs/config';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, IsString, ValidateIf } from 'class-validator';
import { ConfigError, IsDuration, IsIntegerBetween, IsReadableFile, IsRegExp, IsSecret, durationMs, toBoolean, validateConfig } from './validate-config';

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

  /**
   * A PEM private key (Ed25519 or P-256) that signs access tokens instead of USERS_SECRET_KEY: other
   * services can then verify tokens with the public key (GET /.well-known/jwks.json) without being able to mint them.
   */
  @IsOptional()
  @IsReadableFile()
  USERS_JWT_PRIVATE_KEY_FILE?: string;

  /** Comma-separated PEM files (public or private) of the keys before a rotation: their tokens verify until they expire. */
  @IsOptional()
  @IsString()
  USERS_JWT_PREVIOUS_KEY_FILES?: string;

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

  /**
   * How many argon2 hashes run at once: one core less than the machine has (at least one), so that a
   * flood of logins leaves a core to every other request.
   */
  @IsIntegerBetween(1, 1024)
  USERS_ARGON2_CONCURRENCY = Math.max(1, availableParallelism() - 1);

  /** How many hashes may wait for their turn; a request beyond them is answered 503 SERVER_BUSY at once. */
  @IsIntegerBetween(0, 100_000)
  USERS_ARGON2_QUEUE_SIZE = 32 * availableParallelism();

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

/** The JWS algorithms access tokens are signed with: HS256 on USERS_SECRET_KEY, or the one a private key file's type implies. */
export type JwtAlgorithm = 'HS256' | 'EdDSA' | 'ES256';

/** A key of access tokens: `key` is the secret (HS256), the private key (the signing key) or the public key (a previous one). */
export interface JwtKey {
  alg: JwtAlgorithm;
  key: KeyObject;
}

/** The algorithm a key's type implies; other key types are refused, naming the variable. */
function algorithmOf(key: KeyObject, variable: string, file: string): JwtAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  const curve = key.asymmetricKeyDetails?.namedCurve;
  throw new ConfigError([`${variable}: ${file} holds a key of type ${key.asymmetricKeyType}${curve ? ` (${curve})` : ''}; use an Ed25519 key (EdDSA) or a P-256 key (ES256), e.g. \`openssl genpkey -algorithm ed25519\``]);
}

function readPemKey(variable: string, file: string, read: (pem: string) => KeyObject): JwtKey {
  let key: KeyObject;
  try {
    key = read(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError([`${variable}: ${file} is not a PEM key the service can read (${(error as Error).message})`]);
  }
  return { alg: algorithmOf(key, variable, file), key };
}

/**
 * The signing key and the keys tokens may still verify with. Asymmetric (USERS_JWT_PRIVATE_KEY_FILE):
 * the previous keys are USERS_JWT_PREVIOUS_KEY_FILES, and HS256 tokens are refused, so that USERS_SECRET_KEY
 * cannot mint tokens. Otherwise HS256 on USERS_SECRET_KEY, with USERS_SECRET_KEY_PREVIOUS during a rotation.
 */
function jwtKeys(env: AuthEnv): { signing: JwtKey; previous: JwtKey[] } {
  if (!env.USERS_JWT_PRIVATE_KEY_FILE) {
    if (env.USERS_JWT_PREVIOUS_KEY_FILES) throw new ConfigError(['USERS_JWT_PREVIOUS_KEY_FILES needs USERS_JWT_PRIVATE_KEY_FILE (HS256 rotates with USERS_SECRET_KEY_PREVIOUS)']);
    const hs256 = (secret: string): JwtKey => ({ alg: 'HS256', key: createSecretKey(Buffer.from(secret)) });
    return { signing: hs256(env.USERS_SECRET_KEY), previous: env.USERS_SECRET_KEY_PREVIOUS ? [hs256(env.USERS_SECRET_KEY_PREVIOUS)] : [] };
  }
  const previousFiles = (env.USERS_JWT_PREVIOUS_KEY_FILES ?? '').split(',').map((file) => file.trim()).filter(Boolean);
  return {
    signing: readPemKey('USERS_JWT_PRIVATE_KEY_FILE', env.USERS_JWT_PRIVATE_KEY_FILE, createPrivateKey),
    // A public key, or the old private key itself (only its public half is kept).
    previous: previousFiles.map((file) => readPemKey('USERS_JWT_PREVIOUS_KEY_FILES', file, createPublicKey)),
  };
}

export const authConfig = registerAs('auth', () => {
  const env = validateConfig(process.env, AuthEnv);
  return {
    secretKey: env.USERS_SECRET_KEY,
    /** Set during a key rotation: still accepted for unsealing, never used to seal. */
    previousSecretKey: env.USERS_SECRET_KEY_PREVIOUS,
    jwtKeys: jwtKeys(env),
    issuer: env.USERS_JWT_ISSUER,
    audience: env.USERS_JWT_AUDIENCE,
    accessTokenTtlMs: durationMs(env.USERS_ACCESS_TOKEN_DURATION),
    refreshTokenTtlMs: durationMs(env.USERS_REFRESH_TOKEN_DURATION),
    passwordPattern: new RegExp(env.USERS_PASS_REGEX),
    argon2: { memoryCost: env.USERS_ARGON2_MEMORY_KIB, timeCost: env.USERS_ARGON2_ITERATIONS, parallelism: env.USERS_ARGON2_PARALLELISM },
    hashing: { concurrency: env.USERS_ARGON2_CONCURRENCY, queueSize: env.USERS_ARGON2_QUEUE_SIZE },
    allowSelfRegister: env.USERS_ALLOW_SELF_REGISTER,
    allowUnverifiedUser: env.USERS_ALLOW_UNVERIFIED_USER,
    reauthWindowMs: durationMs(env.USERS_REAUTH_WINDOW),
  };
});

export type AuthConfig = ReturnType<typeof authConfig>;
