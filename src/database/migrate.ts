import { DataSource, MigrationExecutor } from 'typeorm';

/** Any constant shared by every replica; it names the lock that serialises migrations. */
const MIGRATION_LOCK_ID = 7_243_001;

/**
 * Runs pending migrations under a PostgreSQL advisory lock, so that replicas starting together
 * migrate once: the others wait for the lock, then find nothing pending. The migrations run on the
 * connection that holds the lock (a session lock belongs to its connection, and PGlite has only one).
 */
export async function runMigrations(dataSource: DataSource): Promise<void> {
  const runner = dataSource.createQueryRunner();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    const executor = new MigrationExecutor(dataSource, runner);
    executor.transaction = 'all';
    await executor.executePendingMigrations();
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => undefined);
    await runner.release();
  }
}
