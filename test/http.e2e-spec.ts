import { Response } from 'supertest';
import { version } from '../package.json';
import { ERRORS } from '../src/common/errors/error-codes';
import { withAdminClient } from './support/postgres';
import { ADMIN, TestApp, startTestApp } from './support/test-app';
import { bearer, createUser, login, loginAdmin, newUserBody } from './support/users';

/**
 * The HTTP edge (API.md §2, §4): body parsing, content types, size limits, routing errors, request ids,
 * security headers, health and the Swagger UI — all through the real app (same factory as main.ts).
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ERROR_KEYS = ['code', 'details', 'error', 'message', 'statusCode'];
/** A V8 stack frame (`    at fn (/path/file.js:12:34)`), or the traces of our files and dependencies. */
const STACK_FRAME = /^\s*at\s+\S.*(:\d+:\d+\)?|\(native\)|\(<anonymous>\))\s*$/m;
const CODE_LOCATION = /node_modules|\/(src|dist)\/\S+\.(ts|js)|\.(ts|js):\d+:\d+/;

/** Every string value of a JSON value, so that a stack inside a JSON string is seen with its line breaks. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([key, child]) => [key, ...strings(child)]);
  return [];
}

function responseText(res: Response): string {
  return [res.text ?? '', ...strings(res.body)].join('\n');
}

/** Nothing that looks like a stack trace or a source location, anywhere in the body. */
function expectNoStackTrace(res: Response) {
  const text = responseText(res);
  expect(text).not.toMatch(STACK_FRAME);
  expect(text).not.toMatch(CODE_LOCATION);
}

/** Our error body `{statusCode, code, message, error, details?}` as JSON, and nothing else. */
function expectError(res: Response, status: number, code: string) {
  expect({ status: res.status, body: res.body }).toEqual({ status, body: expect.objectContaining({ statusCode: status, code }) });
  expect(res.headers['content-type']).toMatch(/^application\/json\b/);
  // Listed as problems that quote the body, so that a failure shows what came back.
  const body = (res.body ?? {}) as Record<string, unknown>;
  const quoted = JSON.stringify(body);
  const problems = [
    ...Object.keys(body).filter((key) => !ERROR_KEYS.includes(key)).map((key) => `unexpected key "${key}" in ${quoted}`),
    ...(Object.keys(ERRORS).includes(String(body.code)) ? [] : [`code ${JSON.stringify(body.code)} is not one of ours in ${quoted}`]),
    ...(typeof body.message === 'string' && /\S/.test(body.message) ? [] : [`no message in ${quoted}`]),
    ...(typeof body.error === 'string' && /\S/.test(body.error) ? [] : [`no error line (what SuperMQ's SDKs show) in ${quoted}`]),
  ];
  expect(problems).toEqual([]);
  expectNoStackTrace(res);
}

function expectSecurityHeaders(res: Response) {
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['content-security-policy']).toEqual(expect.stringContaining("default-src 'self'"));
}

describe('HTTP edge', () => {
  let t: TestApp;
  let adminToken: string;

  beforeAll(async () => {
    t = await startTestApp();
    adminToken = await loginAdmin(t);
  });
  afterAll(() => t.close());

  describe('request bodies', () => {
    it('answers 400 MALFORMED_JSON to malformed JSON', async () => {
      const res = await t.http.post('/users/tokens/issue').set('Content-Type', 'application/json').send('{"identity": "ada@example.com",');
      expectError(res, 400, 'MALFORMED_JSON');
      expect(res.body.details).toBeUndefined();
    });

    it('answers 400 MALFORMED_JSON to a truncated JSON body on an authenticated route', async () => {
      const user = await createUser(t);
      const res = await t.http.patch(`/users/${user.id}`).set(bearer(user.accessToken)).set('Content-Type', 'application/json').send('{"first_name": "Ad');
      expectError(res, 400, 'MALFORMED_JSON');
    });

    it('answers 415 UNSUPPORTED_MEDIA_TYPE to a text/plain body', async () => {
      const res = await t.http.post('/users/tokens/issue').set('Content-Type', 'text/plain').send('identity=ada&secret=x');
      expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });

    it('answers 415 UNSUPPORTED_MEDIA_TYPE to a form body', async () => {
      const res = await t.http.post('/users/tokens/issue').type('form').send({ identity: ADMIN.email, secret: ADMIN.password });
      expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });

    it('answers 415 UNSUPPORTED_MEDIA_TYPE to a multipart body', async () => {
      const res = await t.http.post('/users/tokens/issue').field('identity', ADMIN.email).field('secret', ADMIN.password);
      expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });

    it('accepts application/json with a charset parameter', async () => {
      const res = await t.http
        .post('/users/tokens/issue')
        .set('Content-Type', 'application/json; charset=utf-8')
        .send(JSON.stringify({ identity: ADMIN.email, secret: ADMIN.password }));
      expect(res.status).toBe(201);
      expect(res.body.access_type).toBe('Bearer');
    });

    it('answers 413 PAYLOAD_TOO_LARGE to a JSON body over 100 KB (USERS_HTTP_BODY_LIMIT)', async () => {
      const body = JSON.stringify({ identity: ADMIN.email, secret: 'x'.repeat(100 * 1024) });
      expect(Buffer.byteLength(body)).toBeGreaterThan(100 * 1024);
      const res = await t.http.post('/users/tokens/issue').set('Content-Type', 'application/json').send(body);
      expectError(res, 413, 'PAYLOAD_TOO_LARGE');
    });

    it('accepts a JSON body just under 100 KB (the limit is the body, not the field)', async () => {
      // Refused by validation (secret too long), not by the body limit.
      const body = JSON.stringify({ identity: ADMIN.email, secret: 'x'.repeat(99 * 1024) });
      const res = await t.http.post('/users/tokens/issue').set('Content-Type', 'application/json').send(body);
      expectError(res, 400, 'VALIDATION_FAILED');
    });

    it('takes an empty body with Content-Type application/json on a bodiless POST (logout)', async () => {
      const user = await createUser(t);
      const res = await t.http.post('/users/logout').set(bearer(user.accessToken)).set('Content-Type', 'application/json').send('');
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
    });

    it('takes a POST without any body or content type (logout)', async () => {
      const user = await createUser(t);
      const res = await t.http.post('/users/logout').set(bearer(user.accessToken));
      expect(res.status).toBe(204);
    });

    it('refuses an unknown body field with 400 VALIDATION_FAILED and details naming it', async () => {
      const res = await t.http.post('/users').send(newUserBody({ is_admin: true }));
      expectError(res, 400, 'VALIDATION_FAILED');
      expect(res.body.details).toEqual(expect.arrayContaining([{ field: 'is_admin', problem: expect.any(String) }]));
    });

    it('refuses an unknown nested body field with its dotted path', async () => {
      const body = newUserBody();
      const res = await t.http.post('/users').send({ ...body, credentials: { ...body.credentials, role: 'admin' } });
      expectError(res, 400, 'VALIDATION_FAILED');
      expect(res.body.details).toEqual(expect.arrayContaining([{ field: 'credentials.role', problem: expect.any(String) }]));
    });

    it('refuses an unknown field in the refresh body too (every JSON body is validated)', async () => {
      const res = await t.http.post('/users/tokens/refresh').send({ refresh_token: 'whatever', role: 'admin' });
      expectError(res, 400, 'VALIDATION_FAILED');
      expect(res.body.details).toEqual(expect.arrayContaining([{ field: 'role', problem: expect.any(String) }]));
    });

    it('refuses a refresh_token that is not a string with 400 VALIDATION_FAILED', async () => {
      const res = await t.http.post('/users/tokens/refresh').send({ refresh_token: { $ne: null } });
      expectError(res, 400, 'VALIDATION_FAILED');
      expect(res.body.details).toEqual(expect.arrayContaining([{ field: 'refresh_token', problem: expect.any(String) }]));
    });

    it('refuses JSON nested deeper than 32 levels with 400 VALIDATION_FAILED, and takes 32', async () => {
      const user = await createUser(t);
      /** The body {metadata: {a: {a: … {}}}}: `levels` objects in all. */
      const nested = (levels: number) => ({ metadata: Array.from({ length: levels - 2 }).reduce<object>((inner) => ({ a: inner }), {}) });
      const deep = await t.http.patch(`/users/${user.id}`).set(bearer(user.accessToken)).send(nested(33));
      expectError(deep, 400, 'VALIDATION_FAILED');
      expect(deep.body.details).toEqual([{ field: 'body', problem: 'nested deeper than 32 levels' }]);
      await t.http.patch(`/users/${user.id}`).set(bearer(user.accessToken)).send(nested(32)).expect(200);
      // As deep as the body limit allows (arrays of arrays): refused the same way, never a stack overflow.
      const deepest = '['.repeat(50_000) + ']'.repeat(50_000);
      expectError(await t.http.post('/users/tokens/issue').set('Content-Type', 'application/json').send(deepest), 400, 'VALIDATION_FAILED');
    });

    it('refuses a JSON array or scalar where an object is expected, without a 500', async () => {
      for (const raw of ['[]', '"text"', '42', 'null']) {
        const res = await t.http.post('/users/tokens/issue').set('Content-Type', 'application/json').send(raw);
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expectError(res, res.status, res.body.code);
      }
    });
  });

  describe('prototype pollution', () => {
    const pollutedKeys = ['polluted', 'role', 'isAdmin'];

    afterEach(() => {
      // The app runs in this process: its Object.prototype is ours.
      for (const key of pollutedKeys) expect(({} as Record<string, unknown>)[key]).toBeUndefined();
      expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
    });

    const bodies: [string, (body: Record<string, unknown>) => string][] = [
      ['top-level __proto__', (body) => `{"__proto__":{"polluted":true,"role":"admin"},${JSON.stringify(body).slice(1)}`],
      ['top-level constructor.prototype', (body) => `{"constructor":{"prototype":{"polluted":true,"isAdmin":true}},${JSON.stringify(body).slice(1)}`],
      ['__proto__ inside metadata', (body) => JSON.stringify({ ...body, metadata: { team: 'core' } }).replace('{"team":"core"}', '{"__proto__":{"polluted":true}}')],
      [
        'constructor.prototype inside metadata',
        (body) => JSON.stringify({ ...body, metadata: { team: 'core' } }).replace('{"team":"core"}', '{"constructor":{"prototype":{"polluted":true}}}'),
      ],
    ];

    it.each(bodies)('refuses or ignores %s on registration, never a 500 and never an admin', async (_name, raw) => {
      const body = newUserBody();
      const res = await t.http.post('/users').set('Content-Type', 'application/json').send(raw(body));
      expect(res.status).not.toBeGreaterThanOrEqual(500);
      if (res.status === 201) {
        expect(res.body.role).toBe('user');
        expect(res.body).not.toHaveProperty('polluted');
        expect(res.body.metadata ?? {}).not.toHaveProperty('polluted');
      } else {
        expect(res.status).toBe(400);
        expectError(res, 400, res.body.code);
        expect(['MALFORMED_JSON', 'VALIDATION_FAILED']).toContain(res.body.code);
      }
      // Whatever happened to that request, a plain registration afterwards makes a plain user.
      const plain = await t.http.post('/users').send(newUserBody()).expect(201);
      expect(plain.body.role).toBe('user');
      expect(plain.body).not.toHaveProperty('polluted');
    });

    it('refuses or ignores __proto__ in a login body, never a 500', async () => {
      const res = await t.http
        .post('/users/tokens/issue')
        .set('Content-Type', 'application/json')
        .send(`{"__proto__":{"identity":"${ADMIN.email}","secret":"${ADMIN.password}"}}`);
      expect([400, 401]).toContain(res.status);
      expectError(res, res.status, res.body.code);
    });
  });

  describe('routing', () => {
    it('answers 404 ROUTE_NOT_FOUND to an unknown route', async () => {
      const res = await t.http.get('/no/such/route');
      expectError(res, 404, 'ROUTE_NOT_FOUND');
      expect(res.body.details).toBeUndefined();
      expectSecurityHeaders(res);
    });

    it('answers 404 ROUTE_NOT_FOUND to a known path with an unknown method', async () => {
      const res = await t.http.put('/users/profile').set(bearer(adminToken)).send({});
      expectError(res, 404, 'ROUTE_NOT_FOUND');
    });

    it('answers 400 INVALID_ID to an id that is not a UUID', async () => {
      for (const id of ['not-a-uuid', '123', 'c0b0c68c-5b93-4a93-8f1a-5d63a3f5c3c7x']) {
        const res = await t.http.get(`/users/${id}`).set(bearer(adminToken));
        expectError(res, 400, 'INVALID_ID');
      }
    });

    it('answers 400 INVALID_ID on a write to a bad id too', async () => {
      const res = await t.http.patch('/users/nope/tags').set(bearer(adminToken)).send({ tags: ['a'] });
      expectError(res, 400, 'INVALID_ID');
    });

    it('answers a bad percent-encoding in the URL with a 4xx in our error body', async () => {
      for (const path of ['/users/%E0%A4%A', '/no/such/%E0%A4%A']) {
        const res = await t.http.get(path).set(bearer(adminToken));
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expectError(res, res.status, res.body.code);
      }
    });

    it('answers a bad percent-encoding in the URL with the request id and security headers of every answer', async () => {
      const res = await t.http.get('/users/%E0%A4%A').set('X-Request-Id', 'bad-url-1');
      expect({ requestId: res.headers['x-request-id'], nosniff: res.headers['x-content-type-options'] }).toEqual({ requestId: 'bad-url-1', nosniff: 'nosniff' });
      expectSecurityHeaders(res);
    });
  });

  describe('X-Request-Id', () => {
    it('echoes a sane request id', async () => {
      const id = 'req-42.abc:DEF_9';
      const res = await t.http.get('/health').set('X-Request-Id', id);
      expect(res.status).toBe(200);
      expect(res.headers['x-request-id']).toBe(id);
    });

    it('echoes a sane request id on errors too', async () => {
      const id = 'c0b0c68c-5b93-4a93-8f1a-5d63a3f5c3c7';
      const res = await t.http.get('/no/such/route').set('X-Request-Id', id);
      expect(res.status).toBe(404);
      expect(res.headers['x-request-id']).toBe(id);
    });

    it('generates a UUID when the caller sends none', async () => {
      const first = await t.http.get('/health');
      const second = await t.http.get('/health');
      expect(first.headers['x-request-id']).toMatch(UUID);
      expect(second.headers['x-request-id']).toMatch(UUID);
      expect(first.headers['x-request-id']).not.toBe(second.headers['x-request-id']);
    });

    it.each([
      ['over 128 characters', 'a'.repeat(129)],
      ['with spaces and markup', 'abc <script>alert(1)</script>'],
      ['with quotes and semicolons', 'x";drop table users;--'],
    ])('replaces a hostile request id (%s) with a UUID', async (_name, hostile) => {
      const res = await t.http.get('/health').set('X-Request-Id', hostile);
      expect(res.status).toBe(200);
      expect(res.headers['x-request-id']).toMatch(UUID);
    });

    it('accepts a request id of exactly 128 characters', async () => {
      const id = 'b'.repeat(128);
      const res = await t.http.get('/health').set('X-Request-Id', id);
      expect(res.headers['x-request-id']).toBe(id);
    });

    it.each([
      ['a newline', 'abc\ninjected: yes'],
      ['a CRLF', 'abc\r\nSet-Cookie: session=evil'],
      ['a NUL byte', 'abc\u0000def'],
    ])('replaces a request id with %s (sent below the HTTP client, which would refuse it)', async (_name, hostile) => {
      // Node's HTTP client refuses such header values, so inject straight into the Fastify instance.
      const res = await t.app.getHttpAdapter().getInstance().inject({ method: 'GET', url: '/health', headers: { 'x-request-id': hostile } });
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-request-id']).toMatch(UUID);
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(res.headers).not.toHaveProperty('injected');
    });
  });

  describe('security headers', () => {
    it('sends helmet headers, and no X-Powered-By, on success, error, 404, 413, 415 and documentation responses', async () => {
      const responses = await Promise.all([
        t.http.get('/health'),
        t.http.get('/users/profile'),
        t.http.post('/users/tokens/issue').set('Content-Type', 'application/json').send('{'),
        t.http.get('/no/such/route'),
        t.http.post('/users/tokens/issue').set('Content-Type', 'application/json').send(JSON.stringify({ secret: 'x'.repeat(200 * 1024) })),
        t.http.post('/users/tokens/issue').set('Content-Type', 'text/plain').send('text'),
        t.http.get('/docs'),
      ]);
      expect(responses.map((res) => res.status)).toEqual([200, 401, 400, 404, 413, 415, 200]);
      for (const res of responses) {
        expectSecurityHeaders(res);
        expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
        expect(res.headers['strict-transport-security']).toEqual(expect.stringContaining('max-age='));
        expect(res.headers).not.toHaveProperty('x-powered-by');
      }
    });

    it('answers that carry tokens are never cached: Cache-Control no-store (login, refresh, and every API answer)', async () => {
      const loggedIn = await t.http.post('/users/tokens/issue').send({ identity: ADMIN.email, secret: ADMIN.password }).expect(201);
      const refreshed = await t.http.post('/users/tokens/refresh').send({ refresh_token: loggedIn.body.refresh_token }).expect(201);
      const others = await Promise.all([
        t.http.get('/users/profile').set(bearer(refreshed.body.access_token)),
        t.http.post('/users/tokens/issue').send({ identity: ADMIN.email, secret: 'wrong-password' }),
        t.http.get('/no/such/route'),
        t.http.get('/health'),
      ]);
      for (const res of [loggedIn, refreshed, ...others]) expect({ status: res.status, cacheControl: res.headers['cache-control'] }).toEqual({ status: res.status, cacheControl: 'no-store' });
      // Public keys are the one thing meant to be cached.
      expect((await t.http.get('/.well-known/jwks.json')).headers['cache-control']).toBe('public, max-age=300');
    });

    it('CORS only for the configured origins (OAUTH_ALLOWED_REDIRECT_ORIGINS, by default the UI origin): no wildcard, nothing for others', async () => {
      const ui = 'http://localhost:9095';
      const allowed = await t.http.get('/health').set('Origin', ui).expect(200);
      expect(allowed.headers['access-control-allow-origin']).toBe(ui);
      expect(allowed.headers['access-control-allow-credentials']).toBe('true');
      for (const origin of ['https://evil.example.com', 'null', `${ui}.evil.example.com`, 'http://localhost:9096']) {
        const simple = await t.http.get('/health').set('Origin', origin).expect(200);
        const preflight = await t.http.options('/users/profile').set('Origin', origin).set('Access-Control-Request-Method', 'GET');
        for (const res of [simple, preflight]) {
          expect({ origin, allowOrigin: res.headers['access-control-allow-origin'], credentials: res.headers['access-control-allow-credentials'] }).toEqual({ origin, allowOrigin: undefined, credentials: undefined });
        }
      }
    });
  });

  describe('no stack traces', () => {
    it('no error response of this edge carries a stack trace or a source location', async () => {
      const responses = await Promise.all([
        t.http.get('/users/profile'),
        t.http.get('/users/profile').set('Authorization', 'Bearer not.a.jwt'),
        t.http.get('/users/profile').set('Authorization', 'Bearer'),
        t.http.get('/users/xyz').set(bearer(adminToken)),
        t.http.get('/users?limit=1&limit=2').set(bearer(adminToken)),
        t.http.get('/users?limit=abc').set(bearer(adminToken)),
        t.http.post('/users').send({}),
        t.http.post('/users').set('Content-Type', 'application/json').send('{"a":'),
        t.http.post('/users').set('Content-Type', 'application/xml').send('<a/>'),
        t.http.post('/users/tokens/refresh').send({ refresh_token: 'nope' }),
        t.http.delete('/nothing-here'),
      ]);
      for (const res of responses) {
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expectError(res, res.status, res.body.code);
      }
    });

    // Apps of their own from here on.
    it('USERS_HTTP_BODY_LIMIT sets the body limit', async () => {
      const small = await startTestApp({ env: { USERS_HTTP_BODY_LIMIT: '2kb' } });
      try {
        const body = (size: number) => JSON.stringify({ identity: ADMIN.email, secret: 'x'.repeat(size) });
        expectError(await small.http.post('/users/tokens/issue').set('Content-Type', 'application/json').send(body(2 * 1024)), 413, 'PAYLOAD_TOO_LARGE');
        expectError(await small.http.post('/users/tokens/issue').set('Content-Type', 'application/json').send(body(1500)), 400, 'VALIDATION_FAILED');
      } finally {
        await small.close();
      }
    });

    describe('a real fault (the database broken under the app)', () => {
      let broken: TestApp;
      let token: string;

      beforeAll(async () => {
        broken = await startTestApp();
        const user = await createUser(broken);
        token = user.accessToken;
        await broken.db.query('ALTER TABLE users RENAME TO users_gone');
      });
      afterAll(() => broken.close());

      it.each([
        ['an anonymous login', (b: TestApp) => b.http.post('/users/tokens/issue').send({ identity: ADMIN.email, secret: ADMIN.password })],
        ['an authenticated read', (b: TestApp) => b.http.get('/users/profile').set(bearer(token))],
        ['a registration', (b: TestApp) => b.http.post('/users').send(newUserBody())],
      ])('answers %s with exactly {statusCode:500, code:INTERNAL, message} and no internals', async (_name, send) => {
        const res = await send(broken);
        expect(res.status).toBe(500);
        expect(res.headers['content-type']).toMatch(/^application\/json\b/);
        expect(res.body).toEqual({ statusCode: 500, code: 'INTERNAL', message: expect.any(String), error: expect.any(String) });
        expectNoStackTrace(res);
        for (const internal of [/users_gone/i, /relation/i, /select /i, /insert /i, /QueryFailed/i, /does not exist/i, /typeorm/i, /postgres/i]) {
          expect(res.text).not.toMatch(internal);
        }
        expect(res.headers['x-request-id']).toMatch(UUID);
        expectSecurityHeaders(res);
      });
    });
  });

  describe('health', () => {
    it('GET /health answers 200 application/health+json with the service information', async () => {
      const res = await t.http.get('/health');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/health\+json\b/);
      const body = JSON.parse(res.text);
      expect(body).toEqual({
        status: 'pass',
        version,
        commit: expect.any(String),
        description: 'users service',
        build_time: expect.any(String),
        instance_id: expect.stringMatching(UUID),
      });
      expect(body.commit.length).toBeGreaterThan(0);
      expect(body.build_time.length).toBeGreaterThan(0);
    });

    it('GET /health keeps the same instance id for the life of the process', async () => {
      const [a, b] = await Promise.all([t.http.get('/health'), t.http.get('/health')]);
      expect(JSON.parse(a.text).instance_id).toBe(JSON.parse(b.text).instance_id);
    });

    it('GET /health needs no token and ignores a bad one', async () => {
      const res = await t.http.get('/health').set('Authorization', 'Bearer garbage');
      expect(res.status).toBe(200);
    });

    it('GET /health/live answers 200 with the terminus body', async () => {
      const res = await t.http.get('/health/live');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ok', info: {}, error: {}, details: {} });
    });

    it('GET /health/ready answers 200 with the database up, and reports SMTP and the unsent events and mails (no NATS configured here)', async () => {
      const res = await t.http.get('/health/ready');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json\b/);
      expect(res.body).toEqual({
        status: 'ok',
        info: { database: { status: 'up' } },
        error: {},
        details: {
          database: { status: 'up' },
          smtp: { status: 'log' },
          outbox: { status: 'up', pending: expect.any(Number) },
          mail: { status: 'up', pending: expect.any(Number), failed: expect.any(Number) },
        },
      });
    });

    describe('with USERS_INSTANCE_ID and build information set', () => {
      let named: TestApp;
      beforeAll(async () => {
        named = await startTestApp({ env: { USERS_INSTANCE_ID: 'users-replica-7', USERS_BUILD_COMMIT: '0123abcd', USERS_BUILD_TIME: '2024-10-24_13:31:52' } });
      });
      afterAll(() => named.close());

      it('echoes them in GET /health', async () => {
        const res = await named.http.get('/health').expect(200);
        expect(JSON.parse(res.text)).toEqual({
          status: 'pass',
          version,
          commit: '0123abcd',
          description: 'users service',
          build_time: '2024-10-24_13:31:52',
          instance_id: 'users-replica-7',
        });
      });
    });

    describe('when the database is gone', () => {
      let orphan: TestApp;
      beforeAll(async () => {
        orphan = await startTestApp();
        // Our own connection to that database is about to be killed: that is expected, not a crash.
        orphan.db.on('error', () => undefined);
        await orphan.http.get('/health/ready').expect(200);
        await withAdminClient(async (admin) => {
          await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [orphan.database]);
          await admin.query(`DROP DATABASE IF EXISTS "${orphan.database}" WITH (FORCE)`);
        });
      });
      afterAll(() => orphan.close());

      it('GET /health/ready answers 503 with the terminus body naming the database down', async () => {
        const res = await orphan.http.get('/health/ready');
        expect(res.status).toBe(503);
        expect(res.headers['content-type']).toMatch(/^application\/json\b/);
        expect(res.body).toEqual({
          status: 'error',
          info: {},
          error: { database: expect.objectContaining({ status: 'down' }) },
          details: {
            database: expect.objectContaining({ status: 'down' }),
            smtp: { status: 'log' },
            outbox: { status: 'up', pending: null },
            mail: { status: 'up', pending: null, failed: null },
          },
        });
        expectNoStackTrace(res);
      });

      it('GET /health/live still answers 200', async () => {
        await orphan.http.get('/health/live').expect(200);
      });

      it('GET /health still answers 200', async () => {
        await orphan.http.get('/health').expect(200);
      });
    });
  });

  describe('Swagger', () => {
    it('GET /docs answers the Swagger UI page', async () => {
      const res = await t.http.get('/docs');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html\b/);
      expect(res.text).toMatch(/<title>Users service API<\/title>/);
      expect(res.text).toMatch(/swagger-ui/);
    });

    it('Swagger UI keeps the Authorize tokens across reloads and shows each call\'s duration', async () => {
      const res = await t.http.get('/docs/swagger-ui-init.js').expect(200);
      expect(res.text).toMatch(/"persistAuthorization": true/);
      expect(res.text).toMatch(/"displayRequestDuration": true/);
    });

    it('GET /docs-json answers the OpenAPI 3 document', async () => {
      const res = await t.http.get('/docs-json');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json\b/);
      expect(res.body.openapi).toMatch(/^3\.\d+\.\d+$/);
      expect(res.body.info).toEqual(expect.objectContaining({ title: 'Users service', version }));
      expect(Object.keys(res.body.paths)).toEqual(expect.arrayContaining(['/users', '/users/{id}', '/users/tokens/issue', '/health']));
      expect(res.body.components.securitySchemes.bearerAuth).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    });

    it('the documentation needs no token', async () => {
      await t.http.get('/docs-json').expect(200);
      const res = await t.http.get('/docs-json').set('Authorization', 'Bearer garbage');
      expect(res.status).toBe(200);
    });
  });

  it('a login still works after all of the above (the edge leaves the app healthy)', async () => {
    const tokens = await login(t, ADMIN.email, ADMIN.password);
    await t.http.get('/users/profile').set(bearer(tokens.accessToken)).expect(200);
    await t.http.get('/health/ready').expect(200);
  });
});
