import { DataSource, MigrationExecutor, QueryRunner } from 'typeorm';

/** Any constant shared by every replica; it names the lock that serialises migrations. */
const MIGRATION_LOCK_ID = 7_243_001;

/**
 * Runs `work` holding the migration lock (a PostgreSQL session advisory lock), so that replicas
 * starting together, and the migrate command, migrate once: the others wait for the lock, then find
 * nothing pending. The work runs on the connection that holds the lock (a session lock belongs to its
 * connection, and PGlite has only one).
 */
async function underMigrationLock<T>(dataSource: DataSource, work: (executor: MigrationExecutor, runner: QueryRunner) => Promise<T>): Promise<T> {
  const runner = dataSource.createQueryRunner();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    const executor = new MigrationExecutor(dataSource, runner);
    executor.transaction = 'all';
    return await work(executor, runner);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => undefined);
    await runner.release();
  }
}

/** Runs the pending migrations under the migration lock; answers the names of those it ran. */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const executed = await underMigrationLock(dataSource, (executor) => executor.executePendingMigrations());
  return executed.map((migration) => migration.name);
}

/** Reverts the newest migration under the migration lock; answers its name (undefined: none was applied). */
export async function revertLastMigration(dataSource: DataSource): Promise<string | undefined> {
  return underMigrationLock(dataSource, async (executor) => {
    const [last] = (await executor.getExecutedMigrations()).sort((a, b) => b.timestamp - a.timestamp);
    if (!last) return undefined;
    await executor.undoLastMigration();
    return last.name;
  });
}

/** Each known migration, applied or not, oldest first. */
export async function migrationStatus(dataSource: DataSource): Promise<{ name: string; applied: boolean }[]> {
  const runner = dataSource.createQueryRunner();
  try {
    const executor = new MigrationExecutor(dataSource, runner);
    const pending = new Set((await executor.getPendingMigrations()).map((migration) => migration.name));
    return (await executor.getAllMigrations()).map(({ name }) => ({ name, applied: !pending.has(name) }));
  } finally {
    await runner.release();
  }
}
