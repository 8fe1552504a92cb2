/**
 * PostgreSQL restarted under a write load (registrations), on a PostgreSQL of the test's own: while
 * it is down every request that needs it answers 503 SERVICE_UNAVAILABLE with Retry-After and our
 * body (never a 500, never a stack at error level), readiness is 503 and liveness 200; afterwards the
 * built service recovers by itself — pool, prepared statements, the LISTEN connection that wakes the
 * mail sender and the events relay — and every registration answered 201 is in the database.
 */
import { NatsConnection, connect } from 'nats';
import { BuiltApp, startBuiltApp } from './support/built-app';
import { expectEventually } from './support/eventually';
import { MACHINE_NATS, deleteStream, isolatedStream } from './support/nats';
import { PrivatePostgres } from './support/private-postgres';
import { SECRET_KEY } from './support/test-app';
import { newUserBody } from './support/users';

const DATABASE = 'users';
const WRITERS = 6;

interface Answer {
  status: number;
  /** When the request was sent, and when its answer came. */
  at: number;
  doneAt: number;
  id?: string;
  code?: string;
  retryAfter?: string | null;
}

describe('a PostgreSQL restart under load (built app)', () => {
  const pg = new PrivatePostgres();
  const stream = isolatedStream();
  let nats: NatsConnection;
  let app: BuiltApp;

  beforeAll(async () => {
    await pg.create(DATABASE);
    nats = await connect({ servers: MACHINE_NATS });
    app = await startBuiltApp({
      ...pg.env(DATABASE),
      ...stream.env(MACHINE_NATS),
      USERS_LOG_LEVEL: 'info',
      USERS_DB_POOL_SIZE: '5',
      USERS_SECRET_KEY: SECRET_KEY,
      USERS_ADMIN_PASSWORD: 'outage-test-admin-password',
      USERS_ALLOW_SELF_REGISTER: 'true',
      USERS_ALLOW_UNVERIFIED_USER: 'true',
      // Registrations in a loop from one address: over the per-IP sign-up limit, not what this test is about.
      USERS_RATE_LIMIT_ENABLED: 'false',
      EMAIL_HOST: '',
    });
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
    await deleteStream(nats, stream.stream);
    await nats?.close();
    await pg.destroy();
  });

  it('answers 503 with Retry-After while it is down, recovers by itself, and loses no acknowledged write', async () => {
    const answers: Answer[] = [];
    let writing = true;
    const register = async (): Promise<void> => {
      const at = Date.now();
      try {
        const response = await fetch(`${app.url}/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(newUserBody()) });
        const body = (await response.json()) as { id?: string; code?: string };
        answers.push({ status: response.status, at, doneAt: Date.now(), id: body.id, code: body.code, retryAfter: response.headers.get('retry-after') });
      } catch {
        answers.push({ status: 0, at, doneAt: Date.now() }); // a cut connection: a lost request
      }
    };
    const writers = Array.from({ length: WRITERS }, async () => {
      while (writing) await register();
    });
    const count = (status: number, after = 0) => answers.filter((a) => a.status === status && a.at >= after).length;
    const probe = (path: string) => fetch(`${app.url}${path}`).then((r) => r.status, () => 0);

    // A session from before the outage: its access token is checked by the guard's prepared statement.
    const body = newUserBody();
    await fetch(`${app.url}/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const issued = await fetch(`${app.url}/users/tokens/issue`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ identity: body.email, secret: body.credentials.secret }) });
    const { access_token: accessToken } = (await issued.json()) as { access_token: string };
    const profile = () => fetch(`${app.url}/users/profile`, { headers: { authorization: `Bearer ${accessToken}` } }).then((r) => r.status);
    expect(await profile()).toBe(200);

    await expectEventually(() => expect(count(201)).toBeGreaterThanOrEqual(20));
    const stoppedAt = Date.now();
    await pg.stop();
    await expectEventually(async () => {
      expect(count(503, stoppedAt)).toBeGreaterThanOrEqual(10);
      expect(await probe('/health/ready')).toBe(503);
    });
    expect(await probe('/health/live')).toBe(200);
    expect(await profile()).toBe(503);

    await pg.start();
    const startedAt = Date.now();
    await expectEventually(() => expect(count(201, startedAt)).toBeGreaterThanOrEqual(20));
    // Recovered: the first write answered 201 after PostgreSQL accepted connections again.
    const recoveryMs = Math.min(...answers.filter((a) => a.status === 201 && a.doneAt >= startedAt).map((a) => a.doneAt)) - startedAt;
    writing = false;
    await Promise.all(writers);

    const outage = answers.filter((a) => a.at >= stoppedAt && a.at < startedAt);
    const byStatus = Object.fromEntries([...new Set(answers.map((a) => a.status))].map((s) => [s, count(s)]));
    console.log(
      `PostgreSQL restart under load: ${answers.length} registrations (${JSON.stringify(byStatus)}), ${outage.length} sent while it was down; ` +
        `recovered (first 201) ${recoveryMs} ms after PostgreSQL accepted connections again`,
    );
    expect(answers.filter((a) => a.status !== 201 && a.status !== 503)).toEqual([]);
    expect(answers.filter((a) => a.status === 503 && (a.code !== 'SERVICE_UNAVAILABLE' || !a.retryAfter))).toEqual([]);

    expect(await probe('/health/ready')).toBe(200);
    expect(await profile()).toBe(200);

    const db = pg.client(DATABASE);
    await db.connect();
    try {
      const acknowledged = answers.filter((a) => a.status === 201).map((a) => a.id);
      const { rows } = await db.query<{ id: string }>('SELECT id FROM users WHERE id = ANY($1)', [acknowledged]);
      expect(rows).toHaveLength(acknowledged.length);
      // The mail sender and the relay work again: every verification mail and event goes out.
      await expectEventually(async () => {
        const [row] = (await db.query(`SELECT (SELECT count(*)::int FROM mail_outbox WHERE sent_at IS NULL) AS mails, (SELECT count(*)::int FROM outbox_events WHERE sent_at IS NULL) AS events`)).rows;
        expect(row).toEqual({ mails: 0, events: 0 });
      });
    } finally {
      await db.end();
    }

    const lines = app.output().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { level: string; msg: string; err?: unknown });
    expect(lines.filter((line) => line.level === 'error' || line.level === 'fatal' || line.err !== undefined)).toEqual([]);
    expect(lines.map((line) => line.msg)).toEqual(expect.arrayContaining([expect.stringMatching(/^LISTEN connection restored/), 'database unavailable; answered 503']));
  }, 120_000);
});
