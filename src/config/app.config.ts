import { randomUUID } from 'node:crypto';
import { registerAs } from '@nestjs/config';
import { IsIn, IsOptional, IsString } from 'class-validator';
import { PublicUrlEnv } from './public-url';
import { ConfigError, IsAddressList, IsByteSize, addressListItems, parseAddressOrRange, IsDuration, IsIntegerBetween, IsReadableFile, byteSize, durationMs, validateConfig } from './validate-config';

class AppEnv extends PublicUrlEnv {
  @IsIn(['debug', 'info', 'warn', 'error'])
  USERS_LOG_LEVEL = 'info';

  @IsString()
  USERS_HTTP_HOST = 'localhost';

  @IsIntegerBetween(0, 65535)
  USERS_HTTP_PORT = 9002;

  /** The largest request body: bodies are small JSON documents (two 16 KiB metadata objects and a few fields fit well under 100 KB). */
  @IsByteSize(1024, 16 * 1024 * 1024)
  USERS_HTTP_BODY_LIMIT = '100kb';

  /**
   * The reverse proxies (addresses or CIDR ranges, comma-separated) whose X-Forwarded-For is believed:
   * the client address that rate limits and logs use. Empty: none, the connection's address is the client's.
   */
  @IsAddressList()
  USERS_TRUSTED_PROXIES = '';

  @IsReadableFile()
  USERS_HTTP_SERVER_CERT?: string;

  @IsReadableFile()
  USERS_HTTP_SERVER_KEY?: string;

  @IsOptional()
  @IsString()
  USERS_INSTANCE_ID?: string;

  @IsString()
  USERS_BUILD_COMMIT = 'ffffffff';

  @IsString()
  USERS_BUILD_TIME = '1970-01-01_00:00:00';

  /** After SIGTERM: how long the service keeps serving while readiness says 503 (load balancers drop it meanwhile). */
  @IsDuration({ zeroMeans: 'no delay' })
  USERS_SHUTDOWN_DELAY = '5s';

  /** Then, with no new connections accepted: how long requests in flight may take before their connections are cut. */
  @IsDuration()
  USERS_SHUTDOWN_TIMEOUT = '20s';
}

export const appConfig = registerAs('app', () => {
  const env = validateConfig(process.env, AppEnv);
  if (Boolean(env.USERS_HTTP_SERVER_CERT) !== Boolean(env.USERS_HTTP_SERVER_KEY)) {
    throw new ConfigError(['USERS_HTTP_SERVER_CERT and USERS_HTTP_SERVER_KEY must be set together']);
  }
  return {
    logLevel: env.USERS_LOG_LEVEL,
    host: env.USERS_HTTP_HOST,
    port: env.USERS_HTTP_PORT,
    bodyLimitBytes: byteSize(env.USERS_HTTP_BODY_LIMIT),
    /** For Fastify's trustProxy: request.ip is the last address of X-Forwarded-For that is not one of these. */
    trustedProxies: addressListItems(env.USERS_TRUSTED_PROXIES).map((item) => parseAddressOrRange(item) as string),
    tls: env.USERS_HTTP_SERVER_CERT ? { certFile: env.USERS_HTTP_SERVER_CERT, keyFile: env.USERS_HTTP_SERVER_KEY as string } : undefined,
    instanceId: env.USERS_INSTANCE_ID || randomUUID(),
    commit: env.USERS_BUILD_COMMIT,
    buildTime: env.USERS_BUILD_TIME,
    /** The OpenAPI document's server. */
    publicUrl: env.USERS_PUBLIC_URL,
    shutdown: { delayMs: durationMs(env.USERS_SHUTDOWN_DELAY), timeoutMs: durationMs(env.USERS_SHUTDOWN_TIMEOUT) },
  };
});

export type AppConfig = ReturnType<typeof appConfig>;
