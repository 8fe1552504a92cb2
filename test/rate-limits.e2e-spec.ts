/**
 * Rate limits across replicas: two processes of the built service on one PostgreSQL database and one
 * Redis (a redis-server of this test's own, so that it can be stopped) count every limit together;
 * a refusal is 429 RATE_LIMITED with Retry-After; X-Forwarded-For counts only from a trusted proxy;
 * with Redis gone each replica limits on its own (logged, counted), and shares again once it is back.
 * With RATE_LIMIT_REPLICAS=in-process (the mutation runs: test/mutation/modules.js) the two replicas
 * are apps booted from src in this process instead, where Stryker's mutants are; their logs are not
 * read then.
 */
import { freePort, startBuiltApp } from './support/built-app';
import { expectEventually } from './support/eventually';
import { metricValue } from './support/metrics';
import { databaseEnv } from './support/postgres';
import { privateRedis } from './support/redis';
import { ADMIN, SECRET_KEY, createTestDatabase, startTestApp } from './support/test-app';
import { newUserBody } from './support/users';

const LIMITS = {
  USERS_RATE_LIMIT_TOKEN: '5/1m',
  USERS_RATE_LIMIT_REFRESH: '4/1m',
  USERS_RATE_LIMIT_SIGNUP: '3/1m',
  USERS_RATE_LIMIT_EMAIL: '20/1m',
  USERS_RATE_LIMIT_EMAIL_ACCOUNT: '2/1m',
  // Not what this file is about: the lockout has brute-force.e2e-spec.ts.
  USERS_LOGIN_LOCKOUT: '1000/15m',
};

interface Answer {
  status: number;
  code?: string;
  retryAfter?: number;
  body: Record<string, unknown>;
  headers: Headers;
}

/** One replica of the service, listening on `url`; `output()` its log, when it is a process of its own. */
interface Replica {
  url: string;
  output?(): string;
  stop(): Promise<void>;
}

const IN_PROCESS = process.env.RATE_LIMIT_REPLICAS === 'in-process';

async function startReplica(env: Record<string, string>, database: string): Promise<Replica> {
  if (!IN_PROCESS) return startBuiltApp(env);
  const port = await freePort();
  const app = await startTestApp({ env: { ...env, USERS_LOG_LEVEL: 'error' }, database, port });
  return { url: `http://127.0.0.1:${port}`, stop: () => app.close() };
}

async function post(app: Replica, path: string, body: unknown = {}, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${app.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const json = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  const retryAfter = response.headers.get('retry-after');
  return { status: response.status, code: json.code as string | undefined, retryAfter: retryAfter === null ? undefined : Number(retryAfter), body: json, headers: response.headers };
}

const metric = (app: Replica, name: string, labels = '') => metricValue(app.url, name, labels);

const statuses = (answers: Answer[]) => answers.map((answer) => answer.status);

describe(`rate limits shared through Redis by two replicas (${IN_PROCESS ? 'apps booted from src' : 'built app'})`, () => {
  const redis = privateRedis();
  let database: { name: string; drop(): Promise<void> };
  /** No trusted proxy: X-Forwarded-For is ignored. */
  let a: Replica;
  /** 127.0.0.1 is a trusted proxy: X-Forwarded-For names the client. */
  let b: Replica;
  const user = newUserBody();
  const credentials = { identity: user.email, secret: user.credentials.secret };

  beforeAll(async () => {
    await (await redis).start();
    database = await createTestDatabase();
    const env = {
      ...databaseEnv(database.name),
      USERS_LOG_LEVEL: 'info',
      USERS_SECRET_KEY: SECRET_KEY,
      USERS_ADMIN_EMAIL: ADMIN.email,
      USERS_ADMIN_PASSWORD: ADMIN.password,
      USERS_ALLOW_SELF_REGISTER: 'true',
      USERS_ALLOW_UNVERIFIED_USER: 'true',
      EMAIL_HOST: '',
      USERS_ES_URL: '',
      USERS_REDIS_URL: (await redis).url,
      USERS_RATE_LIMIT_ENABLED: 'true',
      ...LIMITS,
    };
    a = await startReplica(env, database.name);
    b = await startReplica({ ...env, USERS_TRUSTED_PROXIES: '127.0.0.1, ::1' }, database.name);
    expect((await post(a, '/users', user)).status).toBe(201);
  }, 180_000);

  // Each test counts from zero (the outage test, last, leaves Redis running again).
  beforeEach(async () => (await redis).flush());

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await (await redis).stop();
    await database?.drop();
  });

  it('counts logins on both replicas together, and answers the one over the limit 429 RATE_LIMITED with Retry-After and our body', async () => {
    const answers: Answer[] = [];
    for (let i = 0; i < 8; i++) answers.push(await post(i % 2 === 0 ? a : b, '/users/tokens/issue', credentials));
    console.log(`per-IP login limit 5/1m over two replicas: ${statuses(answers).join(' ')}`);
    expect(statuses(answers)).toEqual([201, 201, 201, 201, 201, 429, 429, 429]);

    const refused = answers[5];
    expect(refused.body).toEqual({ statusCode: 429, code: 'RATE_LIMITED', message: expect.stringMatching(/^rate limit reached; retry in \d+ s$/), error: refused.body.message });
    expect(refused.retryAfter).toBeGreaterThanOrEqual(1);
    expect(refused.retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers.get('cache-control')).toBe('no-store');
    expect(refused.headers.get('x-request-id')).toBeTruthy();
    expect((await metric(a, 'users_rate_limited_total', 'limit="token"')) + (await metric(b, 'users_rate_limited_total', 'limit="token"'))).toBe(3);
  });

  it('one refresh limit for POST /users/tokens/refresh and the cookie session refresh, on both replicas', async () => {
    const answers = [
      await post(a, '/users/tokens/refresh', { refresh_token: 'not-a-token' }),
      await post(b, '/users/tokens/refresh', { refresh_token: 'not-a-token' }),
      await post(a, '/oauth/session/refresh'),
      await post(b, '/oauth/session/refresh'),
      await post(a, '/users/tokens/refresh', { refresh_token: 'not-a-token' }),
      await post(b, '/oauth/session/refresh'),
    ];
    expect(answers.map((answer) => answer.code)).toEqual(['REFRESH_TOKEN_INVALID', 'REFRESH_TOKEN_INVALID', 'FORBIDDEN', 'FORBIDDEN', 'RATE_LIMITED', 'RATE_LIMITED']);
  });

  it('limits anonymous registrations per IP, not an admin creating users', async () => {
    const anonymous: Answer[] = [];
    for (let i = 0; i < 4; i++) anonymous.push(await post(i % 2 === 0 ? a : b, '/users', newUserBody()));
    expect(statuses(anonymous)).toEqual([201, 201, 201, 429]);
    const admin = (await post(a, '/users/tokens/issue', { identity: ADMIN.email, secret: ADMIN.password })).body.access_token as string;
    const byAdmin = await post(b, '/users', newUserBody(), { authorization: `Bearer ${admin}` });
    expect(byAdmin.status).toBe(201);
  });

  it('limits password-reset mails per address whatever the client address, and per IP', async () => {
    const forwardedFrom = (i: number) => ({ 'x-forwarded-for': `198.51.100.${i}` });
    const sameAddress: Answer[] = [];
    for (let i = 0; i < 3; i++) sameAddress.push(await post(b, '/password/reset-request', { email: user.email.toUpperCase() }, forwardedFrom(i)));
    expect(statuses(sameAddress)).toEqual([201, 201, 429]);
    // An address nobody has answers the same (no enumeration), and another address is not limited.
    expect(statuses([await post(a, '/password/reset-request', { email: 'nobody@example.com' })])).toEqual([201]);
    // A body without an address is a validation error, not a count against anyone.
    const noAddress = await post(a, '/password/reset-request', {});
    expect(noAddress.code).toBe('VALIDATION_FAILED');
  });

  it('ignores X-Forwarded-For unless it comes from a trusted proxy (USERS_TRUSTED_PROXIES)', async () => {
    const spoofed: Answer[] = [];
    for (let i = 0; i < 7; i++) spoofed.push(await post(a, '/users/tokens/issue', credentials, { 'x-forwarded-for': `203.0.113.${i}` }));
    expect(statuses(spoofed)).toEqual([201, 201, 201, 201, 201, 429, 429]);

    const proxied: Answer[] = [];
    for (let i = 0; i < 7; i++) proxied.push(await post(b, '/users/tokens/issue', credentials, { 'x-forwarded-for': `203.0.113.${i}` }));
    expect(statuses(proxied)).toEqual([201, 201, 201, 201, 201, 201, 201]);

    const oneClient: Answer[] = [];
    for (let i = 0; i < 6; i++) oneClient.push(await post(b, '/users/tokens/issue', credentials, { 'x-forwarded-for': '192.0.2.7, 203.0.113.200' }));
    // The client is the last address the trusted proxy added, not whatever the client put before it.
    expect(statuses(oneClient)).toEqual([201, 201, 201, 201, 201, 429]);
  });

  it('Redis stopped: each replica keeps serving with limits of its own (logged, counted); Redis back: shared again', async () => {
    const server = await redis;
    await server.stop();

    const onA: Answer[] = [];
    for (let i = 0; i < 7; i++) onA.push(await post(a, '/users/tokens/issue', credentials));
    const onB: Answer[] = [];
    for (let i = 0; i < 2; i++) onB.push(await post(b, '/users/tokens/issue', credentials));
    console.log(`Redis down: replica A ${statuses(onA).join(' ')}; replica B ${statuses(onB).join(' ')}`);
    expect(statuses(onA)).toEqual([201, 201, 201, 201, 201, 429, 429]);
    expect(statuses(onB)).toEqual([201, 201]);
    expect(await metric(a, 'users_rate_limit_store_up')).toBe(0);
    expect(await metric(a, 'users_rate_limit_local_decisions_total', 'limit="token"')).toBeGreaterThanOrEqual(7);
    if (a.output) expect(a.output()).toContain("Redis cannot be reached: rate limits count in this replica's memory until it answers again");

    await server.start();
    await expectEventually(async () => {
      expect(await metric(a, 'users_rate_limit_store_up')).toBe(1);
      expect(await metric(b, 'users_rate_limit_store_up')).toBe(1);
    }, 30_000);
    if (a.output) expect(a.output()).toContain('Redis answers again: rate limits are shared by the replicas again');

    const shared: Answer[] = [];
    for (let i = 0; i < 7; i++) shared.push(await post(i % 2 === 0 ? b : a, '/users/tokens/issue', credentials));
    console.log(`Redis back: ${statuses(shared).join(' ')}`);
    expect(statuses(shared)).toEqual([201, 201, 201, 201, 201, 429, 429]);
  });
});
