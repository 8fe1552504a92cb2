/**
 * Zero-loss shutdown of the real built process: SIGTERM while dozens of logins (each an argon2
 * verification, the slowest request there is) are in flight. For USERS_SHUTDOWN_DELAY readiness
 * answers 503 while requests are still served; then no new connection is accepted, every request in
 * flight is answered, the workers and connections close, and the process exits 0.
 */
import { request as httpRequest } from 'node:http';
import { NatsConnection, connect } from 'nats';
import { Client } from 'pg';
import { BuiltApp, startBuiltApp } from './support/built-app';
import { MACHINE_NATS, deleteStream, isolatedStream, readStream } from './support/nats';
import { PG, databaseEnv } from './support/postgres';
import { SECRET_KEY, createTestDatabase } from './support/test-app';
import { newUserBody } from './support/users';

const LOGINS = 48;
const DELAY_MS = 3000;
const TIMEOUT_MS = 120_000;
/**
 * Logins one at a time (one hashing thread) and four times as slow as by default, so that most are
 * still waiting for their hash when the server stops accepting, on a quiet machine too.
 */
const SLOW_LOGINS = { UV_THREADPOOL_SIZE: '1', USERS_ARGON2_ITERATIONS: '8' };

/** One request on a connection of its own; `sent` resolves once the whole request is written. */
function send(url: string, body?: unknown): { sent: Promise<void>; answer: Promise<number> } {
  let sent!: () => void;
  const written = new Promise<void>((resolve) => (sent = resolve));
  const answer = new Promise<number>((resolve) => {
    const method = body === undefined ? 'GET' : 'POST';
    const request = httpRequest(url, { method, agent: false, headers: { 'content-type': 'application/json' } }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', () => resolve(0)); // refused or cut: a lost request
    request.on('finish', () => sent());
    request.end(body === undefined ? undefined : JSON.stringify(body));
  });
  return { sent: written, answer };
}

describe('SIGTERM under load (built app)', () => {
  const stream = isolatedStream();
  let database: { name: string; drop(): Promise<void> };
  let nats: NatsConnection;
  let app: BuiltApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    nats = await connect({ servers: MACHINE_NATS });
    app = await startBuiltApp({
      ...databaseEnv(database.name),
      ...stream.env(MACHINE_NATS),
      USERS_LOG_LEVEL: 'info',
      USERS_SECRET_KEY: SECRET_KEY,
      USERS_ADMIN_PASSWORD: 'shutdown-test-admin-password',
      USERS_ALLOW_SELF_REGISTER: 'true',
      USERS_ALLOW_UNVERIFIED_USER: 'true',
      EMAIL_HOST: '',
      USERS_SHUTDOWN_DELAY: `${DELAY_MS}ms`,
      USERS_SHUTDOWN_TIMEOUT: `${TIMEOUT_MS}ms`,
      ...SLOW_LOGINS,
      // 48 logins from one address: over the per-IP login limit, which is not what this test is about.
      USERS_RATE_LIMIT_ENABLED: 'false',
    });
  }, 180_000);

  afterAll(async () => {
    await app?.stop();
    await deleteStream(nats, stream.stream);
    await nats?.close();
    await database?.drop();
  });

  it('answers every login in flight, is unready but serving during the delay, drains and exits 0', async () => {
    const user = newUserBody();
    expect(await send(`${app.url}/users`, user).answer).toBe(201);
    const credentials = { identity: user.email, secret: user.credentials.secret };

    const logins = Array.from({ length: LOGINS }, () => send(`${app.url}/users/tokens/issue`, credentials));
    await Promise.all(logins.map((login) => login.sent));
    const exited = new Promise<number | null>((resolve) => app.process.once('exit', resolve));
    const signalledAt = Date.now();
    app.process.kill('SIGTERM');

    // During the delay: out of the load balancer, yet still answering (each probe on a new connection, as kubelet's).
    const probes = await Promise.all([send(`${app.url}/health/ready`).answer, send(`${app.url}/health/live`).answer, send(`${app.url}/health`).answer]);
    expect(probes).toEqual([503, 200, 200]);

    const statuses = await Promise.all(logins.map((login) => login.answer));
    const code = await exited;
    const elapsedMs = Date.now() - signalledAt;
    const lines = app.output().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, any>);
    const closed = lines.find((line) => line.msg === 'stopped accepting; requests in flight answered');
    console.log(
      `SIGTERM with ${LOGINS} logins in flight: ${statuses.filter((s) => s < 200 || s >= 300).length} lost; ` +
        `${closed?.in_flight_at_close} still running when the server stopped accepting; exit ${code} after ${elapsedMs} ms`,
    );

    expect(statuses.filter((status) => status !== 201)).toEqual([]);
    expect(code).toBe(0);
    expect(elapsedMs).toBeLessThan(DELAY_MS + TIMEOUT_MS);
    // The hard part was exercised: requests were still running when the server stopped accepting.
    expect(closed).toMatchObject({ in_flight_at_close: expect.any(Number), connections_cut: false });
    expect(closed!.in_flight_at_close).toBeGreaterThan(0);
    // The workers drained, and the last line says so.
    expect(lines.at(-1)).toMatchObject({ msg: 'stopped', signal: 'SIGTERM', drained: { MailSender: expect.any(Object), EventsRelay: expect.any(Object) } });
    expect(lines.filter((line) => line.level === 'error' || line.level === 'fatal')).toEqual([]);

    // Nothing is left half-done: an event is marked sent exactly when it is in the stream; the rest wait for the next replica.
    const db = new Client({ ...PG, database: database.name });
    await db.connect();
    const { rows } = await db.query<{ id: string; sent: boolean }>(`SELECT id, sent_at IS NOT NULL AS sent FROM outbox_events`).finally(() => db.end());
    const published = (await readStream(nats, stream.stream)).map((message) => message.msgId);
    expect(new Set(published)).toEqual(new Set(rows.filter((row) => row.sent).map((row) => row.id)));
    expect(published).toHaveLength(new Set(published).size);
  }, 180_000);
});
