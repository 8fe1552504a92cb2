/**
 * GoTrue's webhooks (WEBHOOK_*, issue #14) against a real HTTP receiver on loopback: the `signup` and
 * `login` deliveries come from the queue written in the change's transaction, signed as GoTrue signs
 * them (an HS256 JWS in x-webhook-signature, checked here with jose, apart from the service's code), and
 * are retried until a receiver that was down takes them; the `validate` hook refuses a sign-up on every
 * path (POST /users, the GoTrue API's /signup, a first OAuth sign-in) when it answers other than 2xx or
 * not in time, and then nothing of the sign-up is written. Two replicas deliver each webhook once, and
 * PGlite's single session is not held up by a delivery (the built app: run `npm run build` first).
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { IncomingHttpHeaders, Server, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jwtVerify } from 'jose';
import { startBuiltApp } from './support/built-app';
import { expectEventually } from './support/eventually';
import { DataSource } from 'typeorm';
import { CleanupService } from '../src/scheduler/cleanup.service';
import { GithubDouble } from './support/oauth-providers';
import { TestApp, startTestApp } from './support/test-app';
import { PASSWORD, bearer, createUser, loginAdmin, newUserBody } from './support/users';

const SECRET = 'webhook-secret-for-the-e2e-tests';
const INSTANCE_ID = randomUUID();
const UI = 'http://127.0.0.1:9095';
const GITHUB_CLIENT = { id: 'users-github', secret: 'github-client-secret' };

interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
  body: { event: string; instance_id: string; user: Record<string, unknown> & { id: string; email: string } };
}

type Answer = { status: number; body?: string; until?: Promise<void> };

/** The webhook receiver: records every request, answers as `answer` says (200 by default). */
class Receiver {
  readonly received: Received[] = [];
  answer: (body: Received['body']) => Answer = () => ({ status: 200, body: '{}' });
  private server?: Server;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/gotrue`;
  }

  async start(): Promise<void> {
    this.server = createServer(async (req, res) => {
      let raw = '';
      for await (const chunk of req) raw += chunk;
      const received: Received = { headers: req.headers, raw, body: JSON.parse(raw) };
      this.received.push(received);
      const { status, body, until } = this.answer(received.body);
      await until;
      if (!res.destroyed) res.writeHead(status, { 'content-type': 'application/json' }).end(body ?? '');
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Down: the port refuses connections until start() again. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeAllConnections();
    await closed;
    this.server = undefined;
  }

  of(event: string, email: string): Received[] {
    return this.received.filter((r) => r.body.event === event && r.body.user.email === email);
  }
}

/** Verifies a request as a receiver must: the JWS with the shared secret, and the body against its sha256 claim. */
async function verified(request: Received) {
  const signature = request.headers['x-webhook-signature'] as string;
  const { payload, protectedHeader } = await jwtVerify(signature, new TextEncoder().encode(SECRET), { issuer: 'gotrue', algorithms: ['HS256'] });
  expect(protectedHeader.alg).toBe('HS256');
  expect(payload.sub).toBe(INSTANCE_ID);
  expect(typeof payload.iat).toBe('number');
  expect(payload.sha256).toBe(createHash('sha256').update(request.raw).digest('hex'));
  expect(request.headers.authorization).toBe(`Bearer ${signature}`);
  expect(request.headers['content-type']).toBe('application/json');
  return payload;
}

describe('webhooks (WEBHOOK_*)', () => {
  const receiver = new Receiver();
  const github = new GithubDouble(GITHUB_CLIENT);
  let t: TestApp;
  let env: Record<string, string>;
  /** Sign-ups the validate hook refuses, by address: the receiver's answer. */
  const refusals = new Map<string, Answer>();

  beforeAll(async () => {
    await receiver.start();
    await github.start();
    receiver.answer = (body) => (body.event === 'validate' && refusals.get(body.user.email)) || { status: 200, body: '{}' };
    env = {
      WEBHOOK_URL: receiver.url,
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_TIMEOUT_SEC: '1',
      WEBHOOK_RETRIES: '3',
      WEBHOOK_EVENTS: 'validate, signup,login',
      USERS_INSTANCE_ID: INSTANCE_ID,
      GITHUB_URL: github.url,
      GITHUB_API_URL: github.url,
      GITHUB_CLIENT_ID: GITHUB_CLIENT.id,
      GITHUB_CLIENT_SECRET: GITHUB_CLIENT.secret,
      GITHUB_REDIRECT_URL: 'http://127.0.0.1:9002/oauth/callback/github',
      OAUTH_UI_REDIRECT_URL: `${UI}/signed-in`,
      OAUTH_UI_ERROR_URL: `${UI}/error`,
    };
    t = await startTestApp({ env });
  });
  afterAll(async () => {
    await t?.close();
    await receiver.stop();
    await github.stop();
  });

  const usersWithEmail = async (email: string) => (await t.db.query('SELECT count(*)::int AS n FROM users WHERE email = $1', [email])).rows[0].n as number;
  const deliveries = async (userId: string) =>
    (await t.db.query('SELECT event, attempts, refusals, sent_at, failed_at, last_error FROM webhook_deliveries WHERE user_id = $1 ORDER BY seq', [userId])).rows;

  it('asks validate before a sign-up, then delivers signup and login, each signed and verifiable', async () => {
    const user = await createUser(t);
    const [validate] = receiver.of('validate', user.email);
    expect(validate.body).toEqual({
      event: 'validate',
      instance_id: INSTANCE_ID,
      user: expect.objectContaining({ id: user.id, email: user.email, aud: expect.any(String), role: 'authenticated', app_metadata: expect.objectContaining({ provider: 'email' }) }),
    });
    await verified(validate);

    await expectEventually(() => expect(receiver.of('login', user.email)).toHaveLength(1));
    const [signup] = receiver.of('signup', user.email);
    const [login] = receiver.of('login', user.email);
    expect(signup.body).toEqual({ event: 'signup', instance_id: INSTANCE_ID, user: expect.objectContaining({ id: user.id, email: user.email }) });
    expect(login.body.user).toEqual(expect.objectContaining({ id: user.id, last_sign_in_at: expect.any(String) }));
    await verified(signup);
    await verified(login);
    // A user's deliveries in the order of their changes.
    expect(receiver.received.indexOf(signup)).toBeLessThan(receiver.received.indexOf(login));
    await expectEventually(async () => expect(await deliveries(user.id)).toEqual([expect.objectContaining({ event: 'signup', attempts: 1, sent_at: expect.any(Date) }), expect.objectContaining({ event: 'login', attempts: 1, sent_at: expect.any(Date) })]));
  });

  it('refuses a sign-up the validate hook refuses, with its message, and writes nothing', async () => {
    const body = newUserBody();
    refusals.set(body.email, { status: 403, body: JSON.stringify({ msg: 'addresses of example.com may not sign up here' }) });
    const before = (await t.db.query('SELECT (SELECT count(*) FROM outbox_events) + (SELECT count(*) FROM webhook_deliveries) + (SELECT count(*) FROM mail_outbox) AS n')).rows[0].n;
    const refused = await t.http.post('/users').send(body).expect(422);
    expect(refused.body).toEqual(expect.objectContaining({ code: 'SIGNUP_REFUSED_BY_HOOK', message: 'addresses of example.com may not sign up here' }));
    expect(await usersWithEmail(body.email)).toBe(0);
    const after = (await t.db.query('SELECT (SELECT count(*) FROM outbox_events) + (SELECT count(*) FROM webhook_deliveries) + (SELECT count(*) FROM mail_outbox) AS n')).rows[0].n;
    expect(after).toBe(before);

    // A body that is not JSON is the message as it is.
    refusals.set(body.email, { status: 400, body: 'no thanks' });
    expect((await t.http.post('/users').send(body).expect(422)).body.message).toBe('no thanks');

    // An admin's creation is no sign-up: the hook is not asked.
    const asked = receiver.of('validate', body.email).length;
    await t.http.post('/users').set(bearer(await loginAdmin(t))).send(body).expect(201);
    expect(receiver.of('validate', body.email)).toHaveLength(asked);
  });

  it('asks validate on the GoTrue API sign-up, and refuses it in GoTrue’s error body', async () => {
    const accepted = newUserBody().email;
    await t.http.post('/auth/v1/signup').send({ email: accepted, password: PASSWORD }).expect(200);
    expect(receiver.of('validate', accepted)).toHaveLength(1);
    await expectEventually(() => expect(receiver.of('signup', accepted)).toHaveLength(1));

    const email = newUserBody().email;
    refusals.set(email, { status: 400, body: JSON.stringify({ message: 'sign-ups are closed today' }) });
    const refused = await t.http.post('/auth/v1/signup').send({ email, password: PASSWORD }).expect(422);
    expect(refused.body).toEqual({ code: 422, error_code: 'signup_refused_by_hook', msg: 'sign-ups are closed today' });
    expect(await usersWithEmail(email)).toBe(0);
  });

  /** A whole GitHub sign-in (the double on loopback) as a new account with `email`, up to our answer's redirect. */
  async function githubSignIn(email: string): Promise<URL> {
    github.account = { id: Date.now() + receiver.received.length, login: 'octo', name: 'Octo', emails: [{ email, primary: true, verified: true }] };
    const authorize = await t.http.get('/oauth/authorize/github');
    const state = (authorize.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('oauth_state='))!.split(';')[0];
    const back = new URL((await fetch(authorize.headers.location, { redirect: 'manual' })).headers.get('location')!);
    const answer = await t.http.get(`${back.pathname}${back.search}`).set('Cookie', state);
    return new URL(answer.headers.location);
  }

  it('asks validate on a first OAuth sign-in, then delivers its signup and login', async () => {
    const email = `octo.${Date.now().toString(36)}@github.test`;
    expect((await githubSignIn(email)).href).toBe(`${UI}/signed-in`);
    expect(receiver.of('validate', email)).toHaveLength(1);
    await expectEventually(() => expect(receiver.of('login', email)).toHaveLength(1));
    const [signup] = receiver.of('signup', email);
    expect(signup.body.user).toEqual(expect.objectContaining({ email, app_metadata: expect.objectContaining({ provider: 'github' }) }));
    await verified(signup);
  });

  it('refuses a first OAuth sign-in the validate hook refuses, and creates no account', async () => {
    const email = `octo.${Date.now().toString(36)}@github.test`;
    refusals.set(email, { status: 409, body: JSON.stringify({ msg: 'not on the guest list' }) });
    expect((await githubSignIn(email)).searchParams.get('error')).toBe('SIGNUP_REFUSED_BY_HOOK');
    expect(receiver.of('validate', email)).toHaveLength(1);
    expect(await usersWithEmail(email)).toBe(0);
  });

  it('refuses a sign-up when the validate hook does not answer within WEBHOOK_TIMEOUT_SEC', async () => {
    const body = newUserBody();
    let release!: () => void;
    refusals.set(body.email, { status: 200, body: '{}', until: new Promise<void>((resolve) => (release = resolve)) });
    try {
      const refused = await t.http.post('/users').send(body).expect(503);
      expect(refused.body).toEqual(expect.objectContaining({ code: 'SIGNUP_HOOK_UNAVAILABLE', message: 'sign-up refused: the webhook receiver did not answer within 1 s' }));
      expect(await usersWithEmail(body.email)).toBe(0);
    } finally {
      release();
    }
  });

  it('keeps a login while the receiver is down, answers at once, and delivers it once the receiver is back', async () => {
    const user = await createUser(t);
    await expectEventually(() => expect(receiver.of('login', user.email)).toHaveLength(1));
    await receiver.stop();
    try {
      await t.http.post('/users/tokens/issue').send({ identity: user.email, secret: user.password }).expect(201);
      await expectEventually(async () => expect((await deliveries(user.id))[2]).toEqual(expect.objectContaining({ event: 'login', sent_at: null, failed_at: null, last_error: expect.stringContaining('could not be reached') })));
    } finally {
      await receiver.start();
    }
    await expectEventually(() => expect(receiver.of('login', user.email)).toHaveLength(2));
    await verified(receiver.of('login', user.email)[1]);
    await expectEventually(async () => expect((await deliveries(user.id))[2]).toEqual(expect.objectContaining({ sent_at: expect.any(Date), attempts: expect.any(Number), refusals: 0 })));
    expect((await deliveries(user.id))[2].attempts).toBeGreaterThanOrEqual(2);
  });

  it('gives a delivery up after WEBHOOK_RETRIES refusals', async () => {
    const user = await createUser(t);
    await expectEventually(() => expect(receiver.of('login', user.email)).toHaveLength(1));
    const answer = receiver.answer;
    receiver.answer = (body) => (body.user.email === user.email ? { status: 400, body: JSON.stringify({ msg: 'unknown user' }) } : answer(body));
    try {
      await t.http.post('/users/tokens/issue').send({ identity: user.email, secret: user.password }).expect(201);
      await expectEventually(async () => expect((await deliveries(user.id))[2]).toEqual(expect.objectContaining({ refusals: 3, attempts: 3, sent_at: null, failed_at: expect.any(Date), last_error: expect.stringContaining('unknown user') })));
      expect(receiver.of('login', user.email)).toHaveLength(4);
      const metrics = (await t.http.get('/metrics').expect(200)).text;
      expect(metrics).toMatch(/^users_webhooks_total\{event="login",result="dropped"\} [1-9]/m);
      expect(metrics).toMatch(/^users_webhooks_total\{event="validate",result="refused"\} [1-9]/m);
      expect(metrics).toMatch(/^users_webhook_queue_failed [1-9]/m);
    } finally {
      receiver.answer = answer;
    }
  });

  it('cleans up deliveries sent or given up longer ago than USERS_OUTBOX_RETENTION, and keeps the others', async () => {
    const user = await createUser(t);
    await expectEventually(async () => expect((await deliveries(user.id)).map((d) => d.sent_at !== null)).toEqual([true, true]));
    await t.db.query(`UPDATE webhook_deliveries SET sent_at = now() - interval '2 days' WHERE user_id = $1 AND event = 'signup'`, [user.id]);
    await t.db.query(`INSERT INTO webhook_deliveries (event, user_id, available_at) VALUES ('login', $1, now() + interval '1 day')`, [user.id]);
    const runner = t.app.get(DataSource).createQueryRunner();
    try {
      expect((await t.app.get(CleanupService).clean(runner)).webhook_deliveries).toBeGreaterThanOrEqual(1);
    } finally {
      await runner.release();
    }
    expect((await deliveries(user.id)).map((d) => [d.event, d.sent_at !== null])).toEqual([
      ['login', true],
      ['login', false],
    ]);
  });

  it('delivers each webhook once with two replicas', async () => {
    const replica = await startTestApp({ env, database: t.database });
    try {
      const users = await Promise.all([1, 2, 3].map(() => createUser(t)));
      const sessions = 5;
      for (const user of users) {
        await Promise.all(Array.from({ length: sessions }, (_, i) => (i % 2 ? replica : t).http.post('/users/tokens/issue').send({ identity: user.email, secret: user.password }).expect(201)));
      }
      for (const user of users) {
        await expectEventually(async () => expect((await deliveries(user.id)).every((d) => d.sent_at !== null)).toBe(true));
        expect(receiver.of('login', user.email)).toHaveLength(1 + sessions);
        expect(receiver.of('signup', user.email)).toHaveLength(1);
      }
    } finally {
      await replica.close();
    }
  });
});

describe('webhooks on PGlite (USERS_DB_DRIVER=pglite, the built app)', () => {
  const receiver = new Receiver();
  const dataDir = join(mkdtempSync(join(tmpdir(), 'users-webhooks-pglite-')), 'pglite');
  afterAll(async () => {
    await receiver.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('asks validate and delivers signup and login, on its one database session', async () => {
    await receiver.start();
    const app = await startBuiltApp(
      {
        USERS_DB_DRIVER: 'pglite',
        USERS_DB_PGLITE_DIR: dataDir,
        USERS_SECRET_KEY: 'pglite-webhooks-test-secret-key-0123456789',
        USERS_ADMIN_EMAIL: 'admin@example.com',
        USERS_ADMIN_PASSWORD: 'admin-password-for-pglite',
        USERS_ALLOW_UNVERIFIED_USER: 'true',
        USERS_LOG_LEVEL: 'warn',
        WEBHOOK_URL: receiver.url,
        WEBHOOK_SECRET: SECRET,
        USERS_INSTANCE_ID: INSTANCE_ID,
      },
      240_000,
    );
    try {
      const body = newUserBody();
      const post = (path: string, json: unknown) => fetch(`${app.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(json) });
      expect((await post('/users', body)).status).toBe(201);
      expect(receiver.of('validate', body.email)).toHaveLength(1);
      expect((await post('/users/tokens/issue', { identity: body.email, secret: body.credentials.secret })).status).toBe(201);
      await expectEventually(() => expect(receiver.of('login', body.email)).toHaveLength(1), 60_000);
      expect(receiver.of('signup', body.email)).toHaveLength(1);
      await verified(receiver.of('login', body.email)[0]);
      // The API still answers while and after the deliverer worked.
      expect((await fetch(`${app.url}/health/ready`)).status).toBe(200);
    } finally {
      await app.stop();
    }
  });
});
