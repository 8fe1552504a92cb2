/**
 * Password hashing as a bounded resource: with USERS_ARGON2_CONCURRENCY hashes running and
 * USERS_ARGON2_QUEUE_SIZE waiting, a flood of logins beyond them is answered at once 503 SERVER_BUSY
 * with Retry-After (never a 500), and requests that hash nothing (profile reads) keep being served.
 */
import { TestApp, startTestApp } from './support/test-app';
import { bearer, createUser } from './support/users';

const CONCURRENCY = 1;
const QUEUE = 4;
const FLOOD = 40;

describe('a login flood beyond the hashing queue', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { USERS_ARGON2_CONCURRENCY: String(CONCURRENCY), USERS_ARGON2_QUEUE_SIZE: String(QUEUE) } });
  });
  afterAll(async () => t?.close());

  it('gets fast 503 SERVER_BUSY with Retry-After beyond the queue, the rest logged in, no 500; profile reads keep working', async () => {
    const user = await createUser(t);
    const timed = async () => {
      const started = process.hrtime.bigint();
      const response = await t.http.post('/users/tokens/issue').send({ identity: user.email, secret: user.password });
      return { response, ms: Number(process.hrtime.bigint() - started) / 1e6 };
    };
    let flooding = true;
    const reads: number[] = [];
    const reader = (async () => {
      while (flooding) reads.push((await t.http.get('/users/profile').set(bearer(user.accessToken))).status);
    })();
    const answers = await Promise.all(Array.from({ length: FLOOD }, timed));
    flooding = false;
    await reader;

    const busy = answers.filter((a) => a.response.status === 503);
    const served = answers.filter((a) => a.response.status === 201);
    const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)] ?? NaN;
    const metrics = (await t.http.get('/metrics').expect(200)).text;
    console.log(
      `${FLOOD} parallel logins, ${CONCURRENCY} hashing at once and ${QUEUE} waiting: ${served.length} × 201 (median ${median(served.map((a) => a.ms)).toFixed(0)} ms), ` +
        `${busy.length} × 503 SERVER_BUSY (median ${median(busy.map((a) => a.ms)).toFixed(0)} ms); ${reads.length} profile reads meanwhile, statuses ${[...new Set(reads)].join(',')}`,
    );

    expect(answers.filter((a) => a.response.status !== 201 && a.response.status !== 503)).toEqual([]);
    expect(served.length).toBeGreaterThanOrEqual(CONCURRENCY + QUEUE);
    expect(busy.length).toBeGreaterThan(0);
    for (const { response } of busy) {
      expect(response.body).toEqual({ statusCode: 503, code: 'SERVER_BUSY', message: expect.any(String), error: expect.any(String) });
      expect(response.headers['retry-after']).toBe('1');
    }
    // Refused before any hashing: faster than the logins that waited their turn.
    expect(median(busy.map((a) => a.ms))).toBeLessThan(median(served.map((a) => a.ms)));
    expect(Number(/^users_password_hashing_refused_total (\d+)/m.exec(metrics)?.[1])).toBe(busy.length);
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.filter((status) => status !== 200)).toEqual([]);
  });
});
