/**
 * Brute-force defence (USERS_LOGIN_LOCKOUT): failed logins are counted per account in Redis (the
 * machine's, under a key prefix of this run) before the password is checked, so that of 50 parallel
 * guesses only 10 are checked; a locked attempt is answered exactly like a wrong password, for known
 * and unknown identities alike; and the account opens again when the window ends.
 */
import { MACHINE_REDIS, uniqueKeyPrefix } from './support/redis';
import { TestApp, startTestApp } from './support/test-app';
import { createUser } from './support/users';
import { expectEventually } from './support/eventually';

const LOCKOUT = 10;

function limitsEnv(lockout: string): Record<string, string> {
  return {
    USERS_RATE_LIMIT_ENABLED: 'true',
    // The per-IP login limit is not what this file is about.
    USERS_RATE_LIMIT_TOKEN: '100000/5m',
    USERS_LOGIN_LOCKOUT: lockout,
    USERS_REDIS_URL: MACHINE_REDIS,
    USERS_REDIS_KEY_PREFIX: uniqueKeyPrefix(),
  };
}

async function lockoutRefusals(t: TestApp): Promise<number> {
  const text = (await t.http.get('/metrics').expect(200)).text;
  return Number(/^users_login_lockout_refusals_total (\d+)/m.exec(text)?.[1] ?? 0);
}

async function attempt(t: TestApp, identity: string, secret: string) {
  const started = process.hrtime.bigint();
  const response = await t.http.post('/users/tokens/issue').send({ identity, secret });
  return { status: response.status, body: response.body as Record<string, unknown>, ms: Number(process.hrtime.bigint() - started) / 1e6 };
}

const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];
const FAILED_LOGIN = { statusCode: 401, code: 'INVALID_CREDENTIALS', message: 'invalid identity or secret', error: 'invalid identity or secret' };

describe('login lockout after 10 failures in 15 minutes', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: limitsEnv(`${LOCKOUT}/15m`) });
  });
  afterAll(async () => t?.close());

  it('of 50 parallel guesses (by e-mail, e-mail in capitals and username) 10 are checked; all 50 and then the right password get the same 401', async () => {
    const user = await createUser(t);
    const identities = [user.email, user.email.toUpperCase(), user.username];
    const before = await lockoutRefusals(t);
    const guesses = await Promise.all(Array.from({ length: 50 }, (_, i) => attempt(t, identities[i % 3], `wrong-guess-${i}`)));
    const refused = (await lockoutRefusals(t)) - before;
    console.log(`50 parallel guesses: ${50 - refused} passwords checked, ${refused} refused unchecked; answers ${JSON.stringify(countBy(guesses.map((g) => g.status)))}`);
    expect(guesses.map((guess) => [guess.status, guess.body])).toEqual(guesses.map(() => [401, FAILED_LOGIN]));
    expect(50 - refused).toBe(LOCKOUT);

    const right = await attempt(t, user.email, user.password);
    expect([right.status, right.body]).toEqual([401, FAILED_LOGIN]);
  });

  it('an unknown identity locks the same way and gets the same answers, at about the same cost (the decoy hash)', async () => {
    const user = await createUser(t);
    const known: Awaited<ReturnType<typeof attempt>>[] = [];
    const unknown: Awaited<ReturnType<typeof attempt>>[] = [];
    for (let i = 0; i < LOCKOUT + 6; i++) {
      known.push(await attempt(t, user.username, `wrong-${i}`));
      unknown.push(await attempt(t, `nobody-${user.username}@example.com`, `wrong-${i}`));
    }
    expect([...known, ...unknown].map((a) => [a.status, a.body])).toEqual([...known, ...unknown].map(() => [401, FAILED_LOGIN]));
    const checkedMs = median([...known, ...unknown].filter((_, i) => i % (LOCKOUT + 6) < LOCKOUT).map((a) => a.ms));
    const lockedMs = median([...known.slice(LOCKOUT), ...unknown.slice(LOCKOUT)].map((a) => a.ms));
    console.log(`failed login, password checked: median ${checkedMs.toFixed(1)} ms; refused by the lockout (decoy hash): median ${lockedMs.toFixed(1)} ms`);
    // Not a timing test: a lock that skipped the hash would answer in a small fraction of the time.
    expect(lockedMs).toBeGreaterThan(checkedMs * 0.2);
  });

  it('a right password in the window is taken back: only failures count', async () => {
    const user = await createUser(t);
    for (let i = 0; i < LOCKOUT - 1; i++) expect((await attempt(t, user.email, `wrong-${i}`)).status).toBe(401);
    // 9 failures, then the right password: checked, and not counted (so it works again), ...
    expect((await attempt(t, user.email, user.password)).status).toBe(201);
    expect((await attempt(t, user.email, user.password)).status).toBe(201);
    // ... so the 10th failure is still checked, and locks.
    expect((await attempt(t, user.email, 'wrong-9')).status).toBe(401);
    expect((await attempt(t, user.email, user.password)).status).toBe(401);
  });
});

describe('login lockout window (10 failures in 10 s)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: limitsEnv(`${LOCKOUT}/10s`) });
  });
  afterAll(async () => t?.close());

  it('locks the account for the rest of the window only: then the right password from the same client works', async () => {
    const user = await createUser(t);
    const failures = await Promise.all(Array.from({ length: LOCKOUT + 1 }, (_, i) => attempt(t, user.email, `wrong-${i}`)));
    expect(failures.map((failure) => failure.status)).toEqual(failures.map(() => 401));
    const lockedAt = Date.now();
    expect((await attempt(t, user.email, user.password)).status).toBe(401);
    await expectEventually(async () => expect((await attempt(t, user.email, user.password)).status).toBe(201), 30_000);
    console.log(`locked out after ${LOCKOUT + 1} failures; the right password worked again ${Date.now() - lockedAt} ms later`);
    expect((await attempt(t, user.email, user.password)).status).toBe(201);
  });
});

function countBy(values: number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}
