import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { databaseConfigFrom } from '../../src/config/database.config';
import { buildDataSourceOptions } from '../../src/database/data-source-options';
import { runMigrations } from '../../src/database/migrate';
import { deleteAbandonedTestStreams } from './nats';
import { RUN_PREFIX_ENV, databaseEnv, dropDatabase, withAdminClient } from './postgres';

/**
 * Makes this run's template database and migrates it once; every test file then gets its own copy
 * (CREATE DATABASE … TEMPLATE), which takes milliseconds. Leftovers of runs that died are dropped,
 * their databases here and their streams on the machine's NATS.
 */
export default async function globalSetup() {
  const prefix = `users_e2e_${process.pid}`;
  process.env[RUN_PREFIX_ENV] = prefix;
  const template = `${prefix}_template`;

  await withAdminClient(async (client) => {
    const { rows } = await client.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'users\\_e2e\\_%'`);
    for (const { datname } of rows) {
      const pid = Number(/^users_e2e_(\d+)_/.exec(datname)?.[1]);
      if (!isAlive(pid)) await dropDatabase(client, datname);
    }
    await client.query(`CREATE DATABASE "${template}"`);
  });

  const dataSource = new DataSource(
    buildDataSourceOptions(databaseConfigFrom(databaseEnv(template))),
  );
  await dataSource.initialize();
  await runMigrations(dataSource);
  await dataSource.destroy();

  await deleteAbandonedTestStreams();
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
