import { Client } from 'pg';

/** The machine's PostgreSQL, as the tests reach it (override with TEST_PG_* for another server). */
export const PG = {
  host: process.env.TEST_PG_HOST ?? '127.0.0.1',
  port: Number(process.env.TEST_PG_PORT ?? 5432),
  user: process.env.TEST_PG_USER ?? 'postgres',
  password: process.env.TEST_PG_PASSWORD ?? '',
};

/** Databases made by one `npm test` run are named after its process, so parallel runs never collide. */
export const RUN_PREFIX_ENV = 'USERS_E2E_RUN_PREFIX';

/** The USERS_DB_* variables that point the service at `database` on the tests' PostgreSQL. */
export function databaseEnv(database: string): Record<string, string> {
  return {
    USERS_DB_DRIVER: 'postgres',
    USERS_DB_HOST: PG.host,
    USERS_DB_PORT: String(PG.port),
    USERS_DB_USER: PG.user,
    USERS_DB_PASS: PG.password,
    USERS_DB_NAME: database,
  };
}

export async function withAdminClient<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ ...PG, database: 'postgres' });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function dropDatabase(client: Client, name: string): Promise<void> {
  await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}
