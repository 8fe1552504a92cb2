import { Global, Module } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { TypeOrmModule, TypeOrmModuleOptions } from '@nestjs/typeorm';
import { DataSource, DataSourceOptions } from 'typeorm';
import { processLogger } from '../common/logging/logger';
import { DatabaseConfig, databaseConfig } from '../config/database.config';
import { ConnectAttemptFailure, connectWithRetry, describeTarget } from './connect';
import { buildDataSourceOptions } from './data-source-options';
import { migrationStatus, runMigrations } from './migrate';
import { PgNotifications } from './pg-notifications';

type BootOptions = TypeOrmModuleOptions & DataSourceOptions & { usersDatabase: DatabaseConfig };

/** One JSON line per failed attempt to reach the database at startup (never a stack trace). */
function logConnectFailure({ attempt, attempts, retryInMs, error }: ConnectAttemptFailure): void {
  const cause = { message: error.message, code: (error as NodeJS.ErrnoException).code };
  const line = { attempt, attempts, ...(retryInMs > 0 ? { retry_in_ms: retryInMs } : {}), error: cause };
  if (retryInMs > 0) processLogger().warn(line, 'database not ready');
  else processLogger().error(line, 'database not ready; giving up');
}

/**
 * Brings the schema up to date at startup (USERS_DB_MIGRATE_ON_BOOT=true, the default), or — when a
 * separate step migrates — waits until it has: pending migrations are retried like an absent database.
 */
async function prepareSchema(dataSource: DataSource, db: DatabaseConfig): Promise<void> {
  if (db.migrateOnBoot) {
    const ran = await runMigrations(dataSource);
    if (ran.length > 0) processLogger().info({ migrations: ran }, 'migrated the database');
    return;
  }
  const pending = (await migrationStatus(dataSource)).filter((migration) => !migration.applied).map((migration) => migration.name);
  if (pending.length > 0) throw new Error(`the schema is not migrated (pending: ${pending.join(', ')}); run \`node dist/src/migrate.js run\``);
}

/** The data source (migrated before anything uses it) and LISTEN/NOTIFY, for every module. */
@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [databaseConfig.KEY],
      useFactory: (db: ConfigType<typeof databaseConfig>): BootOptions => ({
        ...buildDataSourceOptions(db),
        usersDatabase: db,
        // Our own retry loop below logs one line per attempt; TypeOrmModule's logs stack traces.
        toRetry: () => false,
      }),
      dataSourceFactory: async (options) => {
        const { usersDatabase: db, ...dataSourceOptions } = options as BootOptions;
        processLogger().info({ target: describeTarget(db), migrate_on_boot: db.migrateOnBoot }, 'connecting to the database');
        return connectWithRetry(dataSourceOptions, db, logConnectFailure, (dataSource) => prepareSchema(dataSource, db));
      },
    }),
  ],
  providers: [PgNotifications],
  exports: [PgNotifications],
})
export class DatabaseModule {}
