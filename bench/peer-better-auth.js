'use strict';
/**
 * The peer of the list cases: better-auth as it ships (ESM, loaded with import()), with its admin plugin,
 * on a pg Pool whose search_path is a schema of its own (PG_SCHEMA, the way better-auth documents a
 * non-public schema), its tables made by its own migrations (getMigrations from better-auth/db/migration),
 * served by better-auth/node's toNodeHandler on 127.0.0.1:PORT under /api/auth. Rate limits and telemetry
 * off, as the bench runs the app without rate limits. Env: PORT, PG_SCHEMA, PGHOST/PGPORT/PGUSER/PGPASSWORD/
 * PGDATABASE, BETTER_AUTH_SECRET. Reports {ready, port} over IPC; exits when the parent goes away.
 */
const http = require('node:http');
const { Pool } = require('pg');

async function main() {
  const [{ betterAuth }, { admin }, { toNodeHandler }, { getMigrations }] = await Promise.all([
    import('better-auth'),
    import('better-auth/plugins/admin'),
    import('better-auth/node'),
    import('better-auth/db/migration'),
  ]);
  const port = Number(process.env.PORT);
  // pg reads PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE itself.
  const database = new Pool({ options: `-c search_path=${process.env.PG_SCHEMA}` });
  const options = {
    database,
    baseURL: `http://127.0.0.1:${port}`,
    secret: process.env.BETTER_AUTH_SECRET,
    emailAndPassword: { enabled: true },
    plugins: [admin()],
    rateLimit: { enabled: false },
    telemetry: { enabled: false },
  };
  const { toBeCreated, toBeAdded, runMigrations } = await getMigrations(options);
  await runMigrations();
  console.log(`migrations: created ${toBeCreated.map((t) => t.table).join(', ') || 'nothing'}; added to ${toBeAdded.map((t) => t.table).join(', ') || 'nothing'}`);
  const server = http.createServer(toNodeHandler(betterAuth(options)));
  server.keepAliveTimeout = 65000;
  server.listen(port, '127.0.0.1', () => process.send?.({ ready: true, port }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
