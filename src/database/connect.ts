import { DataSource, DataSourceOptions } from 'typeorm';
import { DatabaseConfig } from '../config/database.config';

export interface ConnectAttemptFailure {
  attempt: number;
  attempts: number;
  retryInMs: number;
  error: Error;
}

/**
 * Opens the data source, retrying USERS_DB_CONNECT_ATTEMPTS times USERS_DB_CONNECT_RETRY_DELAY apart
 * while the database cannot be reached (it may be starting alongside the service). `ready` may also
 * refuse a connected source (e.g. migrations not applied yet): that is retried the same way.
 * `onFailure` reports each failed attempt; the last failure is thrown.
 */
export async function connectWithRetry(
  options: DataSourceOptions,
  db: DatabaseConfig,
  onFailure: (failure: ConnectAttemptFailure) => void,
  ready: (dataSource: DataSource) => Promise<void> = async () => undefined,
): Promise<DataSource> {
  for (let attempt = 1; ; attempt++) {
    const dataSource = new DataSource(options);
    try {
      await dataSource.initialize();
      await ready(dataSource);
      return dataSource;
    } catch (error) {
      if (dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
      const retryInMs = attempt < db.connectAttempts ? db.connectRetryDelayMs : 0;
      onFailure({ attempt, attempts: db.connectAttempts, retryInMs, error: error as Error });
      if (retryInMs === 0) throw error;
      await new Promise((resolve) => setTimeout(resolve, retryInMs));
    }
  }
}

/** Where the data source points, for the log and the migrate command (no password). */
export function describeTarget(db: DatabaseConfig): string {
  return db.driver === 'pglite' ? `pglite ${db.pgliteDir} (embedded PostgreSQL)` : `postgres://${db.user}@${db.host}:${db.port}/${db.name}`;
}
