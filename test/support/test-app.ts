import { createHash, randomBytes } from 'node:crypto';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import request from 'supertest';
import TestAgent from 'supertest/lib/agent';
import { createApp, startNatsApi } from '../../src/app.factory';
import { PG, RUN_PREFIX_ENV, databaseEnv, dropDatabase, withAdminClient } from './postgres';

export const ADMIN = { email: 'admin@example.com', password: 'admin-password-for-tests' };
export const SECRET_KEY = 'e2e-secret-key-that-is-long-enough-0123456789';
/** The `kid` of SECRET_KEY's tokens: its RFC 7638 JWK thumbprint, worked out here apart from the service's code. */
export const SECRET_KEY_ID = createHash('sha256').update(JSON.stringify({ k: Buffer.from(SECRET_KEY).toString('base64url'), kty: 'oct' })).digest('base64url');

export interface TestApp {
  app: NestFastifyApplication;
  http: TestAgent;
  /** A direct connection to this app's database, for arranging and checking state. */
  db: Client;
  database: string;
  close(): Promise<void>;
}

/** A fresh database copied from the migrated template; dropped by the returned function. */
export async function createTestDatabase(): Promise<{ name: string; drop(): Promise<void> }> {
  const prefix = process.env[RUN_PREFIX_ENV];
  if (!prefix) throw new Error('run the e2e tests through jest-e2e.config.js (its global setup makes the template)');
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await withAdminClient((client) => client.query(`CREATE DATABASE "${name}" TEMPLATE "${prefix}_template"`));
  return { name, drop: () => withAdminClient((client) => dropDatabase(client, name)) };
}

/**
 * Boots the real application (same factory as main.ts) on a database of its own. `env` overrides the
 * test defaults; `database` shares another app's database (several replicas); `port` makes it listen.
 */
export async function startTestApp(options: { env?: Record<string, string>; database?: string; port?: number } = {}): Promise<TestApp> {
  const owned = options.database ? undefined : await createTestDatabase();
  const database = options.database ?? owned!.name;
  const saved = { ...process.env };
  Object.assign(process.env, {
    USERS_LOG_LEVEL: 'error',
    ...databaseEnv(database),
    USERS_DB_POOL_SIZE: '5',
    USERS_SECRET_KEY: SECRET_KEY,
    USERS_ADMIN_EMAIL: ADMIN.email,
    USERS_ADMIN_PASSWORD: ADMIN.password,
    USERS_ALLOW_SELF_REGISTER: 'true',
    USERS_ALLOW_UNVERIFIED_USER: 'false',
    // Mails are logged (and dropped at this log level) unless a test gives an SMTP server.
    EMAIL_HOST: '',
    // No NATS unless a test gives one: events stay in the outbox.
    USERS_ES_URL: '',
    // Tests log in far more often than 30 times in 5 minutes from one address; the tests of the limits
    // (rate-limits, brute-force) turn them on.
    USERS_RATE_LIMIT_ENABLED: 'false',
    ...options.env,
  });
  try {
    const app = await createApp();
    await app.init();
    startNatsApi(app);
    app.flushLogs(); // bufferLogs holds Nest's logs until listen(), which most tests never call
    await app.getHttpAdapter().getInstance().ready();
    // A real port, for a browser: `port` given.
    if (options.port !== undefined) await app.listen(options.port, '127.0.0.1');
    const db = new Client({ ...PG, database });
    await db.connect();
    return {
      app,
      http: request(app.getHttpServer()),
      db,
      database,
      async close() {
        await app.close();
        await db.end();
        await owned?.drop();
      },
    };
  } finally {
    process.env = saved;
  }
}
