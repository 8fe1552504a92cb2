/**
 * The rules of the rate limits and the login lockout (src/rate-limit/), fast: the focused spec of the
 * `rate-limits` mutation module (test/mutation/modules.js), so every case here runs for every mutant.
 * Cheap argon2 (USERS_ARGON2_MEMORY_KIB / _ITERATIONS) and a 2-second lockout window (on A), through the
 * typed config, keep it to seconds. Three replicas on one database and one Redis of this test's own
 * (which it stops and starts): A and B with the limits on, C with them off (it also makes the users);
 * and D, with the limits on and no Redis at all.
 * All three trust 127.0.0.1 as a proxy: each test is a client address of its own (X-Forwarded-For).
 * test/rate-limits.e2e-spec.ts (built processes) and test/brute-force.e2e-spec.ts (real argon2 costs,
 * 50 parallel guesses, a 10 s window) say the same at full size in npm test.
 */
import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { freePort } from './support/built-app';
import { expectEventually } from './support/eventually';
import { metricValue } from './support/metrics';
import { MACHINE_REDIS, privateRedis, uniqueKeyPrefix } from './support/redis';
import { RateLimitStore } from '../src/rate-limit/rate-limit-store.service';
import { ADMIN, TestApp, startTestApp } from './support/test-app';
import { newUserBody } from './support/users';

const PREFIX = 'rules-test:';
const LOCKOUT = 3;
const LIMITS = {
  USERS_RATE_LIMIT_TOKEN: '3/1m',
  USERS_RATE_LIMIT_REFRESH: '2/1m',
  USERS_RATE_LIMIT_SIGNUP: '2/1m',
  USERS_RATE_LIMIT_EMAIL: '6/1m',
  USERS_RATE_LIMIT_EMAIL_ACCOUNT: '2/1m',
  USERS_LOGIN_LOCKOUT: `${LOCKOUT}/1m`,
  // The cheapest argon2 the config allows: the lockout is about counting, not about the cost of a hash.
  USERS_ARGON2_MEMORY_KIB: '1024',
  USERS_ARGON2_ITERATIONS: '1',
};
const FAILED_LOGIN = { statusCode: 401, code: 'INVALID_CREDENTIALS', message: 'invalid identity or secret', error: 'invalid identity or secret' };

interface Answer {
  status: number;
  code?: string;
  retryAfter: string | null;
  body: Record<string, unknown>;
  headers: Headers;
}

interface Replica {
  url: string;
  app: TestApp;
}

async function call(replica: Replica, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${replica.url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  return { status: response.status, code: json.code as string | undefined, retryAfter: response.headers.get('retry-after'), body: json, headers: response.headers };
}

const post = (replica: Replica, path: string, body: unknown = {}, headers: Record<string, string> = {}) => call(replica, 'POST', path, body, headers);

const metric = (replica: Replica, name: string, labels = '') => metricValue(replica.url, name, labels);

const statuses = (answers: Answer[]) => answers.map((answer) => answer.status);
const codes = (answers: Answer[]) => answers.map((answer) => answer.code);

describe('rate limit and login lockout rules (short windows, cheap hashes)', () => {
  const redisServer = privateRedis();
  let redis: Redis;
  let a: Replica;
  let b: Replica;
  /** The limits off: no limit, no lockout, no Redis; also how the tests make their users. */
  let c: Replica;
  /** The limits on without USERS_REDIS_URL: counted in its memory. */
  let d: Replica;
  const dPrefix = uniqueKeyPrefix();
  let addresses = 0;
  /** A client address no other request of this file uses (B trusts X-Forwarded-For from 127.0.0.1). */
  const newClient = () => ({ 'x-forwarded-for': `198.51.100.${++addresses}` });

  async function replica(env: Record<string, string>, database?: string): Promise<Replica> {
    const port = await freePort();
    const app = await startTestApp({ env, database, port });
    return { url: `http://127.0.0.1:${port}`, app };
  }

  /** A verified user, made on C (no limits), who logs in with `password`. */
  async function newUser(role: 'user' | 'admin' = 'user') {
    const body = newUserBody();
    const created = await post(c, '/users', body);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await c.app.db.query(`UPDATE users SET verified_at = now(), role = $2 WHERE id = $1`, [id, role]);
    return { id, email: body.email, username: body.credentials.username, password: body.credentials.secret };
  }

  async function token(identity: string, secret: string): Promise<string> {
    const answer = await post(c, '/users/tokens/issue', { identity, secret });
    expect(answer.status).toBe(201);
    return answer.body.access_token as string;
  }

  const login = (replica: Replica, identity: string, secret: string, headers: Record<string, string> = newClient()) =>
    post(replica, '/users/tokens/issue', { identity, secret }, headers);

  /** Redis connections other than this test's own. */
  async function serviceConnections(): Promise<number> {
    const list = await redis.client('LIST');
    return String(list).split('\n').filter((line) => line.trim() !== '').length - 1;
  }

  // The store logs when a replica starts and stops counting alone, once each way (before the apps boot: from their start).
  const warn = jest.spyOn(Logger.prototype, 'warn');
  const log = jest.spyOn(Logger.prototype, 'log');
  const logged = (spy: jest.SpyInstance, text: string) =>
    spy.mock.calls.filter((args, i) => String(args[0]).includes(text) && (spy.mock.contexts[i] as { context?: string }).context === 'RateLimits').length;

  beforeAll(async () => {
    const server = await redisServer;
    await server.start();
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined);
    const limited = { ...LIMITS, USERS_RATE_LIMIT_ENABLED: 'true', USERS_REDIS_URL: server.url, USERS_REDIS_KEY_PREFIX: PREFIX, USERS_TRUSTED_PROXIES: '127.0.0.1, ::1' };
    // C owns the database (its close drops it): the tests may close A and B.
    c = await replica({ ...limited, USERS_RATE_LIMIT_ENABLED: 'false' });
    // A's lockout window is short: its test waits for the end of one.
    a = await replica({ ...limited, USERS_LOGIN_LOCKOUT: `${LOCKOUT}/2s` }, c.app.database);
    b = await replica(limited, c.app.database);
    d = await replica({ ...limited, USERS_REDIS_URL: '', USERS_REDIS_KEY_PREFIX: dPrefix }, c.app.database);
  }, 120_000);

  afterAll(async () => {
    await d?.app.close();
    await b?.app.close();
    await a?.app.close();
    await c?.app.close();
    redis?.disconnect();
    await (await redisServer).stop();
  });

  it('counts a limit on both replicas together; over it, 429 RATE_LIMITED whose Retry-After is never before the counter expires', async () => {
    const client = newClient();
    const refusals = async () => (await metric(a, 'users_rate_limited_total', 'limit="token"')) + (await metric(b, 'users_rate_limited_total', 'limit="token"'));
    const before = await refusals();
    const answers: Answer[] = [];
    for (let i = 0; i < 4; i++) answers.push(await login(i % 2 === 0 ? b : a, 'nobody@example.com', 'wrong', client));
    expect(statuses(answers)).toEqual([401, 401, 401, 429]);
    expect(answers[1].body).toEqual(FAILED_LOGIN);
    // No X-RateLimit-* headers (nor @nestjs/throttler's Retry-After-<name>): the limits are not advertised.
    expect(answers.flatMap((answer) => [...answer.headers.keys()]).filter((name) => /^(x-ratelimit|retry-after-)/.test(name))).toEqual([]);

    const refused = answers[3];
    expect(refused.body).toEqual({ statusCode: 429, code: 'RATE_LIMITED', message: `rate limit reached; retry in ${refused.retryAfter} s`, error: refused.body.message });
    const [key] = await redis.keys(`${PREFIX}*token*${client['x-forwarded-for']}`);
    const msLeft = await redis.pttl(key);
    expect(msLeft).toBeGreaterThan(0);
    // In whole seconds, rounded up: a client that waits that long is let through.
    expect(Number(refused.retryAfter) * 1000).toBeGreaterThanOrEqual(msLeft);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
    expect((await refusals()) - before).toBe(1);
  });

  it('one limit for all its routes (both refresh routes), apart from the other limits and from other clients', async () => {
    const client = newClient();
    const answers = [
      await post(b, '/users/tokens/refresh', { refresh_token: 'not-a-token' }, client),
      await post(b, '/oauth/session/refresh', {}, client),
      await post(b, '/oauth/session/refresh', {}, client),
      await post(b, '/users/tokens/refresh', { refresh_token: 'not-a-token' }, client),
    ];
    expect(codes(answers)).toEqual(['REFRESH_TOKEN_INVALID', 'FORBIDDEN', 'RATE_LIMITED', 'RATE_LIMITED']);
    // The token limit of the same client, and the refresh limit of another, are untouched.
    expect((await login(b, 'nobody@example.com', 'wrong', client)).status).toBe(401);
    expect((await post(b, '/users/tokens/refresh', { refresh_token: 'not-a-token' }, newClient())).code).toBe('REFRESH_TOKEN_INVALID');
  });

  it("GoTrue's POST /auth/v1/token counts under the limit of its native twin (token)", async () => {
    const client = newClient();
    expect((await login(b, 'nobody@example.com', 'wrong', client)).status).toBe(401);
    expect((await post(b, '/auth/v1/token?grant_type=password', { email: 'nobody@example.com', password: 'wrong' }, client)).status).toBe(400);
    expect((await login(b, 'nobody@example.com', 'wrong', client)).status).toBe(401);
    expect((await post(b, '/auth/v1/token?grant_type=password', { email: 'nobody@example.com', password: 'wrong' }, client)).status).toBe(429);
    expect((await metric(b, 'users_rate_limited_total', 'limit="token"'))).toBeGreaterThanOrEqual(1);
  });

  it('limits anonymous registrations per client, not an admin registering users', async () => {
    const client = newClient();
    const anonymous: Answer[] = [];
    for (let i = 0; i < 3; i++) anonymous.push(await post(b, '/users', newUserBody(), client));
    expect(statuses(anonymous)).toEqual([201, 201, 429]);
    const admin = await token(ADMIN.email, ADMIN.password);
    for (let i = 0; i < 3; i++) expect((await post(b, '/users', newUserBody(), { ...client, authorization: `Bearer ${admin}` })).status).toBe(201);
  });

  it('limits mails per recipient address, in any case and spacing, whatever the client', async () => {
    const user = await newUser();
    const variants = [`  ${user.email.toUpperCase()}  `, user.email, user.email];
    const answers: Answer[] = [];
    for (const email of variants) answers.push(await post(b, '/password/reset-request', { email }, newClient()));
    expect(answers[1].status).toBe(201);
    expect(answers[2].code).toBe('RATE_LIMITED');
    // Another address is not limited.
    expect((await post(b, '/password/reset-request', { email: `other-${user.email}` }, newClient())).status).toBe(201);
  });

  it('a body without a usable address counts against nobody: a validation error every time', async () => {
    // Each from a client of its own: the per-client limit (email) counts them all, the per-address one none.
    for (const body of [{}, {}, {}, { email: '   ' }, { email: '   ' }, { email: '   ' }, { email: 42 }, { email: 42 }, { email: 42 }]) {
      expect((await post(b, '/password/reset-request', body, newClient())).code).toBe('VALIDATION_FAILED');
    }
  });

  it("a user's verification mail counts against the user's own address, whatever the body says", async () => {
    const user = await newUser();
    const victim = await newUser();
    const bearer = { authorization: `Bearer ${await token(user.email, user.password)}` };
    for (let i = 0; i < 2; i++) await post(b, '/users/send-verification', { email: victim.email }, { ...newClient(), ...bearer });
    expect((await post(b, '/password/reset-request', { email: victim.email }, newClient())).status).toBe(201);
    expect((await post(b, '/password/reset-request', { email: user.email }, newClient())).code).toBe('RATE_LIMITED');
  });

  it("an admin's invitations count against each invited address, the admin's own mails against the admin's", async () => {
    const admin = await newUser('admin');
    const bearer = { authorization: `Bearer ${await token(admin.email, admin.password)}` };
    for (let i = 0; i < 3; i++) {
      const invited = await post(b, '/users/invite', { email: newUserBody().email }, { ...newClient(), ...bearer });
      expect(invited.status).toBe(201);
    }
    const own: Answer[] = [];
    // Without a body, as clients send it.
    for (let i = 0; i < 3; i++) own.push(await call(b, 'POST', '/users/send-verification', undefined, { ...newClient(), ...bearer }));
    expect(own[2].code).toBe('RATE_LIMITED');
  });

  it(`locks an account after ${LOCKOUT} failures, whatever the client; the right password is then refused like a wrong one (counted)`, async () => {
    const user = await newUser();
    const before = await metric(b, 'users_login_lockout_refusals_total');
    for (let i = 0; i < LOCKOUT; i++) expect((await login(b, user.email, `wrong-${i}`)).body).toEqual(FAILED_LOGIN);
    expect((await login(b, user.username, user.password)).body).toEqual(FAILED_LOGIN);
    expect((await metric(b, 'users_login_lockout_refusals_total')) - before).toBe(1);
  });

  it('of parallel guesses only as many as the lockout allows are checked; an unknown identity locks the same way', async () => {
    const user = await newUser();
    for (const identity of [user.email, `nobody-${user.email}`]) {
      const before = await metric(b, 'users_login_lockout_refusals_total');
      const guesses = await Promise.all(Array.from({ length: 10 }, (_, i) => login(b, identity, `wrong-${i}`)));
      expect(guesses.map((guess) => guess.body)).toEqual(guesses.map(() => FAILED_LOGIN));
      const refused = (await metric(b, 'users_login_lockout_refusals_total')) - before;
      expect(10 - refused).toBe(LOCKOUT);
    }
  });

  it('a right password in the window is taken back: only failures count', async () => {
    const user = await newUser();
    for (let i = 0; i < LOCKOUT - 1; i++) expect((await login(b, user.email, `wrong-${i}`)).status).toBe(401);
    // One failure short of the lock, the right password works again and again: none of them counts.
    for (let i = 0; i < 3; i++) expect((await login(b, user.email, user.password)).status).toBe(201);
    expect((await login(b, user.email, 'wrong-last')).status).toBe(401);
    expect((await login(b, user.email, user.password)).status).toBe(401);
  });

  it('the lock ends with its window (2 s on A): the right password works again', async () => {
    const user = await newUser();
    const before = await metric(a, 'users_login_lockout_refusals_total');
    // At once, so that all of them fall in one window however slow the machine is.
    const failures = await Promise.all(Array.from({ length: LOCKOUT + 1 }, (_, i) => login(a, user.email, `wrong-${i}`)));
    expect(statuses(failures)).toEqual(failures.map(() => 401));
    expect((await metric(a, 'users_login_lockout_refusals_total')) - before).toBe(1);
    await expectEventually(async () => expect((await login(a, user.email, user.password)).status).toBe(201), 15_000);
  });

  it('with USERS_RATE_LIMIT_ENABLED=false nothing is limited or locked, and Redis is not used', async () => {
    const user = await newUser();
    const client = newClient();
    for (let i = 0; i <= LOCKOUT + 1; i++) expect((await login(c, user.email, `wrong-${i}`, client)).status).toBe(401);
    expect((await login(c, user.email, user.password, client)).status).toBe(201);
    for (let i = 0; i < 3; i++) expect((await post(c, '/users/tokens/refresh', { refresh_token: 'not-a-token' }, client)).code).toBe('REFRESH_TOKEN_INVALID');
    // Every key in Redis is A's and B's, under their prefix; the connections are theirs.
    expect((await redis.keys('*')).filter((key) => !key.startsWith(`${PREFIX}rl:`))).toEqual([]);
    expect(await serviceConnections()).toBe(2);
  });

  it('without USERS_REDIS_URL the limits count in the replica\'s memory, and nothing goes to any Redis', async () => {
    const client = newClient();
    const answers: Answer[] = [];
    for (let i = 0; i < 4; i++) answers.push(await login(d, 'nobody@example.com', 'wrong', client));
    expect(statuses(answers)).toEqual([401, 401, 401, 429]);
    const machine = new Redis(MACHINE_REDIS, { maxRetriesPerRequest: 1 });
    try {
      expect(await machine.keys(`${dPrefix}*`)).toEqual([]);
    } finally {
      machine.disconnect();
    }
    expect(await metric(d, 'users_rate_limit_local_decisions_total')).toBe(0);
    expect(await metric(d, 'users_rate_limit_store_up')).toBe(0);
  });

  /** Waits until A's and B's users_rate_limit_store_up is `value`. */
  const storeUpOnBoth = (value: number) =>
    expectEventually(async () => {
      expect(await metric(a, 'users_rate_limit_store_up')).toBe(value);
      expect(await metric(b, 'users_rate_limit_store_up')).toBe(value);
    }, 30_000);

  it('Redis stopped: each replica limits on its own (counted in its metrics); Redis back: shared again', async () => {
    const server = await redisServer;
    const consoleError = jest.spyOn(console, 'error');
    await server.stop();
    await storeUpOnBoth(0);

    const client = newClient();
    const onB: Answer[] = [];
    for (let i = 0; i < 4; i++) onB.push(await login(b, 'nobody@example.com', 'wrong', client));
    expect(statuses(onB)).toEqual([401, 401, 401, 429]);
    expect(await metric(b, 'users_rate_limit_local_decisions_total', 'limit="token"')).toBeGreaterThanOrEqual(4);
    // A's memory has not seen them: N replicas let N times as much through while Redis is away.
    expect((await login(a, 'nobody@example.com', 'wrong', client)).status).toBe(401);
    // Said once by each replica, however many decisions it took alone; the failed reconnections are not printed.
    expect(logged(warn, 'Redis cannot be reached')).toBe(2);
    expect(consoleError.mock.calls.filter((args) => String(args[0]).includes('ioredis'))).toEqual([]);
    consoleError.mockRestore();

    await server.start();
    await storeUpOnBoth(1);
    const again = newClient();
    const shared: Answer[] = [];
    for (const replica of [a, b, a, b]) shared.push(await login(replica, 'nobody@example.com', 'wrong', again));
    expect(statuses(shared)).toEqual([401, 401, 401, 429]);
    expect(await redis.keys(`${PREFIX}*token*${again['x-forwarded-for']}`)).toHaveLength(1);
    // Once by each replica, and not at their start (Redis answered from the first).
    expect(logged(log, 'Redis answers again')).toBe(2);
  });

  it('reconnects to Redis for ever, at least 100 ms and at most a second apart (so that limits are shared again soon after a long outage)', () => {
    const { retryStrategy } = (b.app.app.get(RateLimitStore) as unknown as { redis: Redis }).redis.options;
    const delays = Array.from({ length: 1000 }, (_, i) => retryStrategy?.(i + 1));
    // Nor in a tight loop against a Redis that is struggling to come back.
    expect(delays.filter((delay) => typeof delay !== 'number' || delay > 1000 || delay < 100)).toEqual([]);
  });

  it('a replica that shuts down closes its Redis connection', async () => {
    await expectEventually(async () => expect(await serviceConnections()).toBe(2), 10_000);
    await b.app.close();
    b = undefined as unknown as Replica;
    await expectEventually(async () => expect(await serviceConnections()).toBe(1), 10_000);
  });

  it('a replica that shuts down while Redis is away stops trying to reach it', async () => {
    // QUIT cannot be sent then: the client must be disconnected, or its reconnection timer keeps the process alive.
    const client = (a.app.app.get(RateLimitStore) as unknown as { redis: Redis }).redis;
    const disconnect = jest.spyOn(client, 'disconnect');
    await (await redisServer).stop();
    await expectEventually(async () => expect(await metric(a, 'users_rate_limit_store_up')).toBe(0), 10_000);
    await a.app.close();
    a = undefined as unknown as Replica;
    expect(disconnect).toHaveBeenCalled();
  });
});
