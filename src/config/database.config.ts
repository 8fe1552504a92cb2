import { registerAs } from '@nestjs/config';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsOptional, IsString } from 'class-validator';
import { IsDuration, IsIntegerBetween, IsReadableFile, durationMs, toBoolean, validateConfig } from './validate-config';

class DatabaseEnv {
  @IsIn(['postgres', 'pglite'])
  USERS_DB_DRIVER: 'postgres' | 'pglite' = 'postgres';

  @IsString()
  USERS_DB_PGLITE_DIR = './data/pglite';

  @IsString()
  USERS_DB_HOST = 'localhost';

  @IsIntegerBetween(1, 65535)
  USERS_DB_PORT = 5432;

  @IsString()
  USERS_DB_USER = 'postgres';

  @IsOptional()
  @IsString()
  USERS_DB_PASS = '';

  @IsString()
  USERS_DB_NAME = 'users';

  @IsIn(['disable', 'require', 'verify-ca', 'verify-full'])
  USERS_DB_SSL_MODE: 'disable' | 'require' | 'verify-ca' | 'verify-full' = 'disable';

  @IsReadableFile()
  USERS_DB_SSL_CERT?: string;

  @IsReadableFile()
  USERS_DB_SSL_KEY?: string;

  @IsReadableFile()
  USERS_DB_SSL_ROOT_CERT?: string;

  @IsIntegerBetween(1, 200)
  USERS_DB_POOL_SIZE = 20;

  /** false: the schema is migrated by `node dist/src/migrate.js run` (e.g. a Kubernetes Job) and the service only checks it. */
  @Transform(toBoolean)
  @IsBoolean()
  USERS_DB_MIGRATE_ON_BOOT = true;

  /** Attempts to reach the database at startup before giving up (a database starting alongside the service). */
  @IsIntegerBetween(1, 1000)
  USERS_DB_CONNECT_ATTEMPTS = 10;

  @IsDuration({ zeroMeans: 'the next attempt at once' })
  USERS_DB_CONNECT_RETRY_DELAY = '3s';

  /**
   * GET /users and /users/search count matches exactly up to this many; past it, or when the planner
   * expects more, `total` is the planner's estimate and `total_exact` is false. Counting is what a filter
   * costs at scale: a page of ten takes about a millisecond, while counting the matches of a name or tag
   * filter reads each matching row from the table (10,000 of them: 10,000 pages, 7–12 ms at 1M users;
   * 1,000: about one). 1,000 keeps that count within the page's cost; more than anyone pages through.
   */
  @IsIntegerBetween(1, 1_000_000_000)
  USERS_DB_EXACT_TOTAL_LIMIT = 1_000;
}

export function databaseConfigFrom(env: NodeJS.ProcessEnv) {
  const db = validateConfig(env, DatabaseEnv);
  return {
    driver: db.USERS_DB_DRIVER,
    pgliteDir: db.USERS_DB_PGLITE_DIR,
    host: db.USERS_DB_HOST,
    port: db.USERS_DB_PORT,
    user: db.USERS_DB_USER,
    password: db.USERS_DB_PASS,
    name: db.USERS_DB_NAME,
    sslMode: db.USERS_DB_SSL_MODE,
    sslCertFile: db.USERS_DB_SSL_CERT,
    sslKeyFile: db.USERS_DB_SSL_KEY,
    sslRootCertFile: db.USERS_DB_SSL_ROOT_CERT,
    poolSize: db.USERS_DB_POOL_SIZE,
    migrateOnBoot: db.USERS_DB_MIGRATE_ON_BOOT,
    connectAttempts: db.USERS_DB_CONNECT_ATTEMPTS,
    connectRetryDelayMs: durationMs(db.USERS_DB_CONNECT_RETRY_DELAY),
    exactTotalLimit: db.USERS_DB_EXACT_TOTAL_LIMIT,
  };
}

export const databaseConfig = registerAs('database', () => databaseConfigFrom(process.env));

export type DatabaseConfig = ReturnType<typeof databaseConfigFrom>;
