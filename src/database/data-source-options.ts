import { readFileSync } from 'node:fs';
import { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { DatabaseConfig } from '../config/database.config';
import { RefreshToken } from '../auth/entities/refresh-token.entity';
import { OutboxEvent } from '../events/entities/outbox-event.entity';
import { LinkToken } from '../mail/entities/link-token.entity';
import { QueuedMail } from '../mail/entities/queued-mail.entity';
import { UserIdentity } from '../oauth/entities/user-identity.entity';
import { User } from '../users/entities/user.entity';

export const ENTITIES = [User, RefreshToken, OutboxEvent, LinkToken, QueuedMail, UserIdentity];

/** The one TypeORM configuration, shared by the app and the TypeORM CLI (data-source.ts). */
export function buildDataSourceOptions(db: DatabaseConfig): DataSourceOptions {
  const common = {
    type: 'postgres' as const,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    synchronize: false,
    migrationsRun: false,
  };
  if (db.driver === 'pglite') {
    // Loaded only when chosen: PGlite is a development convenience that production never pays for.
    const { createPgliteDriver } = require('./pglite') as typeof import('./pglite');
    return { ...common, driver: createPgliteDriver(db.pgliteDir) };
  }
  return {
    ...common,
    host: db.host,
    port: db.port,
    username: db.user,
    password: db.password,
    database: db.name,
    ssl: sslOptions(db),
    extra: { max: db.poolSize },
  };
}

function sslOptions(db: DatabaseConfig) {
  if (db.sslMode === 'disable') return false;
  const read = (file?: string) => (file ? readFileSync(file, 'utf8') : undefined);
  return {
    // `require` encrypts without checking the server's certificate, as libpq's sslmode=require does.
    rejectUnauthorized: db.sslMode !== 'require',
    ca: read(db.sslRootCertFile),
    cert: read(db.sslCertFile),
    key: read(db.sslKeyFile),
    // verify-ca checks the chain but not the host name.
    ...(db.sslMode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
  };
}
