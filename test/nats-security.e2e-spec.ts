/**
 * The NATS API and the events behind NATS credentials (#8 finding 4), on a nats-server of this file's
 * own that enforces the account configuration of the README ("Securing NATS"), read from the README
 * itself: the service works with its user; an anonymous client is refused; a client user can ask the
 * API but neither read the events nor answer the API in the service's place; with wrong credentials
 * the service says so, reports NATS down and keeps serving HTTP.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { JSONCodec, NatsConnection, NatsError, connect } from 'nats';
import { startBuiltApp } from './support/built-app';
import { expectEventually } from './support/eventually';
import { NatsServer } from './support/nats';
import { databaseEnv } from './support/postgres';
import { ADMIN, SECRET_KEY, TestApp, createTestDatabase, startTestApp } from './support/test-app';
import { createUser, newUserBody } from './support/users';

const json = JSONCodec<Record<string, unknown>>();
const SERVICE = { user: 'users-service', pass: 'service-password-for-tests' };
const CLIENT = { user: 'users-client', pass: 'client-password-for-tests' };
/** Booting the built service on the loaded test machine can take most of a minute: a guard, not a timing assertion. */
const BUILT_APP_TIMEOUT_MS = 120_000;

/** The fenced `conf` block of the README that starts with the accounts comment: the configuration a deployment is told to use. */
function readmeAccountsConfig(): string {
  const readme = readFileSync(join(__dirname, '../README.md'), 'utf8');
  const block = /```conf\n(# nats-server accounts for the users service[\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('README.md has no ```conf block starting with "# nats-server accounts for the users service"');
  return block[1];
}

/** The codes of the errors NATS reported to a subscription (permission violations arrive asynchronously). */
function subscribeRecordingErrors(nc: NatsConnection, subject: string, queue?: string): string[] {
  const errors: string[] = [];
  nc.subscribe(subject, { queue, callback: (error: NatsError | null) => void (error && errors.push(error.code)) });
  return errors;
}

describe('NATS with the README account configuration', () => {
  const server = new NatsServer({
    config: readmeAccountsConfig(),
    env: { USERS_SERVICE_NATS_PASSWORD: SERVICE.pass, USERS_CLIENT_NATS_PASSWORD: CLIENT.pass },
    probe: SERVICE,
  });
  let t: TestApp;
  let client: NatsConnection;
  const request = async (subject: string, body: Record<string, unknown>) => json.decode((await client.request(subject, json.encode(body), { timeout: 5000 })).data);

  beforeAll(async () => {
    await server.start();
    t = await startTestApp({ env: { USERS_ES_URL: server.url, USERS_ES_USER: SERVICE.user, USERS_ES_PASSWORD: SERVICE.pass } });
    client = await connect({ servers: server.url, ...CLIENT });
  });
  afterAll(async () => {
    await client?.close();
    await t?.close();
    await server.destroy();
  });

  it('the service works with its credentials: NATS up in readiness, its events acknowledged by JetStream, its API answering a client', async () => {
    await expectEventually(async () => expect((await t.http.get('/health/ready').expect(200)).body.details.nats).toEqual({ status: 'up' }));
    const user = await createUser(t, { private_metadata: { plan: 'gold-secret' } });
    await expectEventually(async () => {
      const { rows } = await t.db.query<{ sent: number; unsent: number }>(
        `SELECT count(*) FILTER (WHERE sent_at IS NOT NULL)::int AS sent, count(*) FILTER (WHERE sent_at IS NULL)::int AS unsent FROM outbox_events WHERE user_id = $1`,
        [user.id],
      );
      expect(rows[0]).toEqual({ sent: 3, unsent: 0 }); // user.create, user.send_verification, user.issue_token
    });
    // private_metadata stays out of the events (USERS_EVENTS_INCLUDE_PRIVATE is false by default).
    const { rows } = await t.db.query<{ data: string }>(`SELECT data::text FROM outbox_events WHERE user_id = $1`, [user.id]);
    expect(rows.map((row) => row.data).join()).not.toContain('gold-secret');

    expect(await request('users.verify_token', { token: user.accessToken })).toMatchObject({ user_id: user.id, role: 'user' });
    expect(await request('users.get', { id: user.id })).toMatchObject({ id: user.id });
  });

  it('an anonymous client or a wrong password is refused by the server', async () => {
    for (const credentials of [{}, { user: CLIENT.user, pass: 'wrong' }, { user: SERVICE.user, pass: 'wrong' }]) {
      await expect(connect({ servers: server.url, reconnect: false, ...credentials })).rejects.toMatchObject({ code: 'AUTHORIZATION_VIOLATION' });
    }
  });

  it('a client user can neither read the events nor answer the API: every request is answered by the service', async () => {
    const eventErrors = subscribeRecordingErrors(client, 'events.users.>');
    const rogueErrors = subscribeRecordingErrors(client, 'users.verify_token', 'users');
    const otherQueueErrors = subscribeRecordingErrors(client, 'users.verify_token');
    await expectEventually(() => {
      expect(eventErrors).toContain('PERMISSIONS_VIOLATION');
      expect(rogueErrors).toContain('PERMISSIONS_VIOLATION');
      expect(otherQueueErrors).toContain('PERMISSIONS_VIOLATION');
    });
    const user = await createUser(t);
    for (let i = 0; i < 10; i++) {
      expect(await request('users.verify_token', { token: user.accessToken })).toMatchObject({ user_id: user.id, role: 'user' });
    }
  });

  it('with wrong credentials the service says so, reports NATS down, and keeps serving HTTP', async () => {
    const database = await createTestDatabase();
    const app = await startBuiltApp({
      ...databaseEnv(database.name),
      USERS_SECRET_KEY: SECRET_KEY,
      USERS_ADMIN_PASSWORD: ADMIN.password,
      EMAIL_HOST: '',
      USERS_ES_URL: server.url,
      USERS_ES_USER: SERVICE.user,
      USERS_ES_PASSWORD: 'not-the-password',
    });
    try {
      await expectEventually(() => expect(app.output()).toContain("NATS refused the service's credentials"));
      expect(app.output()).not.toContain('not-the-password');
      const ready = await fetch(`${app.url}/health/ready`);
      expect(ready.status).toBe(200);
      expect(((await ready.json()) as { details: { nats: { status: string } } }).details.nats.status).toBe('down');
      const created = await fetch(`${app.url}/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(newUserBody()) });
      expect(created.status).toBe(201);
    } finally {
      await app.stop();
      await database.drop();
    }
  }, BUILT_APP_TIMEOUT_MS);
});
