import { Pool, PoolClient, QueryResultRow } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

/**
 * Runs a named statement on the pool under TypeORM: PostgreSQL parses and plans it once per
 * connection instead of on every call. For the statements on the hottest paths only (the auth
 * guard's user lookup, refresh rotation, the events relay's claim); everything else goes through TypeORM.
 */
export async function queryPrepared<T extends QueryResultRow>(dataSource: DataSource, name: string, text: string, values: unknown[]): Promise<T[]> {
  const pool = (dataSource.driver as PostgresDriver).master as Pool;
  const result = await pool.query<T>({ name, text, values });
  return result.rows;
}

/** queryPrepared on the connection of the caller's transaction. */
export async function queryPreparedIn<T extends QueryResultRow>(manager: EntityManager, name: string, text: string, values: unknown[]): Promise<T[]> {
  const client = (await manager.queryRunner!.connect()) as PoolClient;
  const result = await client.query<T>({ name, text, values });
  return result.rows;
}
