/**
 * GET /metrics (Prometheus text), without authentication: HTTP durations by route template and
 * status, logins and refreshes by result (reuse of a spent refresh token included), mail deliveries,
 * the outbox and mail backlogs, the database pool, process and event-loop metrics. With
 * USERS_METRICS_PORT they move to a port of their own.
 */
import { freePort } from './support/built-app';
import { expectEventually } from './support/eventually';
import { TestApp, startTestApp } from './support/test-app';
import { createUser, login } from './support/users';

/** `name{labels} value` lines of the exposition text, as a map from `name{labels}` to the value. */
function samples(text: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match) map.set(match[1], Number(match[2]));
  }
  return map;
}

describe('GET /metrics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const scrape = async () => {
    const response = await t.http.get('/metrics').expect(200);
    expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    return samples(response.text);
  };

  it('counts requests by route template, logins and refreshes by result, mails, and reads the backlogs and the pool', async () => {
    const user = await createUser(t);
    expect((await t.http.post('/users/tokens/issue').send({ identity: user.email, secret: 'not-the-password' })).status).toBe(401);
    await t.http.get(`/users/${user.id}`).set('Authorization', `Bearer ${user.accessToken}`).expect(200);
    await t.http.post('/users/tokens/refresh').send({ refresh_token: user.refreshToken }).expect(201);
    await t.http.post('/users/tokens/refresh').send({ refresh_token: user.refreshToken }).expect(401);
    await t.http.post('/users/tokens/refresh').send({ refresh_token: 5 }).expect(400);
    await login(t, user.email, user.password);

    await expectEventually(async () => expect((await scrape()).get('users_mails_total{kind="verification",result="sent"}')).toBeGreaterThanOrEqual(1));
    const metrics = await scrape();
    expect(metrics.get('users_logins_total{result="success"}')).toBe(2);
    expect(metrics.get('users_logins_total{result="invalid_credentials"}')).toBe(1);
    expect(metrics.get('users_token_refreshes_total{result="success"}')).toBe(1);
    expect(metrics.get('users_token_refreshes_total{result="refresh_token_reused"}')).toBe(1);
    expect(metrics.get('users_token_refreshes_total{result="validation_failed"}')).toBe(1);

    expect(metrics.get('users_http_request_duration_seconds_count{method="POST",route="/users/tokens/issue",status_code="201"}')).toBe(2);
    expect(metrics.get('users_http_request_duration_seconds_count{method="POST",route="/users/tokens/issue",status_code="401"}')).toBe(1);
    expect(metrics.get('users_http_request_duration_seconds_count{method="GET",route="/users/:id",status_code="200"}')).toBe(1);
    expect(metrics.get('users_http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/users",status_code="201"}')).toBe(1);
    // One series per route, never one per user.
    expect([...metrics.keys()].filter((key) => key.includes(user.id))).toEqual([]);

    // USERS_ES_URL is empty here: the events wait in the outbox, and the oldest one ages.
    expect(metrics.get('users_outbox_backlog')).toBeGreaterThanOrEqual(4);
    expect(metrics.get('users_outbox_relay_lag_seconds')).toBeGreaterThan(0);
    expect(metrics.get('users_mail_queue_backlog')).toBe(0);
    expect(metrics.get('users_mail_queue_failed')).toBe(0);
    // The LISTEN connection is always checked out.
    expect(metrics.get('users_db_pool_connections_in_use')).toBeGreaterThanOrEqual(1);
    expect(metrics.get('users_db_pool_requests_waiting')).toBe(0);
    expect(metrics.has('users_db_pool_connections_idle')).toBe(true);
    expect(metrics.get('process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(metrics.has('nodejs_eventloop_lag_p99_seconds')).toBe(true);
    expect(metrics.has('process_resident_memory_bytes')).toBe(true);
  });

  it('is not behind authentication: a bad bearer token changes nothing', async () => {
    await t.http.get('/metrics').set('Authorization', 'Bearer not-a-token').expect(200);
  });
});

describe('USERS_METRICS_PORT', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    t = await startTestApp({ env: { USERS_HTTP_HOST: '127.0.0.1', USERS_METRICS_PORT: String(port) } });
  });
  afterAll(() => t.close());

  it('serves the metrics on that port only; the public port answers 404 with our body', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(samples(await response.text()).has('process_cpu_user_seconds_total')).toBe(true);
    expect((await fetch(`http://127.0.0.1:${port}/users`)).status).toBe(404);
    const refused = await t.http.get('/metrics').expect(404);
    expect(refused.body).toMatchObject({ statusCode: 404, code: 'ROUTE_NOT_FOUND', message: 'route not found' });
  });
});
