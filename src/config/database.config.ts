import { registerAs } from '@nestjs/config';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { validateConfig } from './validate-config';

class DatabaseEnv {
  @IsIn(['postgres', 'pglite'])
  USERS_DB_DRIVER: 'postgres' | 'pglite' = 'postgres';

  @IsString()
  USERS_DB_PGLITE_DIR = './data/pglite';

  @IsString()
  USERS_DB_HOST = 'localhost';

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65535)
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

  @IsOptional()
  @IsString()
  USERS_DB_SSL_CERT?: string;

  @IsOptional()
  @IsString()
  USERS_DB_SSL_KEY?: string;

  @IsOptional()
  @IsString()
  USERS_DB_SSL_ROOT_CERT?: string;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  USERS_DB_POOL_SIZE = 20;
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
  };
}

export const databaseConfig = registerAs('database', () => databaseConfigFrom(process.env));

export type DatabaseConfig = ReturnType<typeof databaseConfigFrom>;
