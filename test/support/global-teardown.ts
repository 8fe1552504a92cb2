import { RUN_PREFIX_ENV, dropDatabase, withAdminClient } from './postgres';

export default async function globalTeardown() {
  const prefix = process.env[RUN_PREFIX_ENV];
  if (!prefix) return;
  await withAdminClient(async (client) => {
    const { rows } = await client.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, [prefix]);
    for (const { datname } of rows) await dropDatabase(client, datname);
  });
}
