/**
 * Input an attacker controls, and what it may reach (#8 findings 7 and 10): a NUL character anywhere
 * in a body, query or path is a 400 VALIDATION_FAILED, never a 500; an unhandled database error is
 * logged without the statement's parameters (argon2 hashes, addresses) or the driver's error; a
 * hostile X-Request-Id never reaches the log or the events' audit data.
 */
import { Client } from 'pg';
import { startBuiltApp } from './support/built-app';
import { expectEventually } from './support/eventually';
import { PG, databaseEnv } from './support/postgres';
import { ADMIN, TestApp, createTestDatabase, startTestApp } from './support/test-app';
import { bearer, createUser, loginAdmin, newUserBody } from './support/users';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('NUL characters in input (#8 finding 7)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const refusal = (field: string) => ({
    statusCode: 400,
    code: 'VALIDATION_FAILED',
    message: 'strings must not contain NUL characters',
    details: [{ field, problem: 'must not contain NUL characters' }],
  });

  it('in a registration body, nested or not, and in a login', async () => {
    const nulName = await t.http.post('/users').send(newUserBody({ first_name: 'Ad\u0000a' }));
    expect({ status: nulName.status, body: nulName.body }).toEqual({ status: 400, body: expect.objectContaining(refusal('first_name')) });
    const body = newUserBody();
    const nulSecret = await t.http.post('/users').send({ ...body, credentials: { ...body.credentials, secret: 'pass\u0000word-long' } });
    expect(nulSecret.body).toMatchObject(refusal('credentials.secret'));
    const nulTag = await t.http.post('/users').send(newUserBody({ tags: ['ok', 'b\u0000d'] }));
    expect(nulTag.body).toMatchObject(refusal('tags.1'));
    const nulKey = await t.http.post('/users').send(newUserBody({ metadata: { nested: { 'k\u0000': 1 } } }));
    expect(nulKey.body).toMatchObject(refusal('metadata.nested.k\u0000'));

    const login = await t.http.post('/users/tokens/issue').send({ identity: 'ada\u0000@example.com', secret: 'whatever-secret' });
    expect({ status: login.status, body: login.body }).toEqual({ status: 400, body: expect.objectContaining(refusal('identity')) });
  });

  it('a lone UTF-16 surrogate (no Unicode text) is refused the same way, also where validator.js would throw (an e-mail)', async () => {
    const reset = await t.http.post('/password/reset-request').send({ email: '\udfff\ud800' });
    expect({ status: reset.status, body: reset.body }).toEqual({
      status: 400,
      body: expect.objectContaining({ code: 'VALIDATION_FAILED', details: [{ field: 'email', problem: 'must be well-formed Unicode (no lone surrogates)' }] }),
    });
    const registration = await t.http.post('/users').send(newUserBody({ first_name: 'Ad\ud800a' }));
    expect(registration.body).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ field: 'first_name', problem: 'must be well-formed Unicode (no lone surrogates)' }] });
  });

  it('a key naming a built-in object property (toString, hasOwnProperty) is refused, not silently dropped', async () => {
    const registration = await t.http.post('/users').send({ ...newUserBody(), toString: null });
    expect({ status: registration.status, body: registration.body }).toEqual({
      status: 400,
      body: expect.objectContaining({ code: 'VALIDATION_FAILED', details: [{ field: 'toString', problem: 'must not be the name of a built-in object property' }] }),
    });
    const metadata = await t.http.post('/users').send(newUserBody({ metadata: { hasOwnProperty: 1 } }));
    expect(metadata.body).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ field: 'metadata.hasOwnProperty' }] });
  });

  it('in a change of the user', async () => {
    const user = await createUser(t);
    const patch = await t.http.patch(`/users/${user.id}`).set(bearer(user.accessToken)).send({ last_name: '\u0000' });
    expect({ status: patch.status, body: patch.body }).toEqual({ status: 400, body: expect.objectContaining(refusal('last_name')) });
  });

  it('in query parameters and path parameters', async () => {
    const admin = await loginAdmin(t);
    const list = await t.http.get('/users?name=%00').set(bearer(admin));
    expect({ status: list.status, body: list.body }).toEqual({ status: 400, body: expect.objectContaining(refusal('name')) });
    const search = await t.http.get('/users/search?username=ada%00').set(bearer(admin));
    expect(search.body).toMatchObject(refusal('username'));
    const verify = await t.http.get('/verify-email?token=abc%00def');
    expect(verify.body).toMatchObject(refusal('token'));
    const id = await t.http.get('/users/%00').set(bearer(admin));
    expect(id.body).toMatchObject(refusal('id'));
    const provider = await t.http.get('/oauth/authorize/goo%00gle');
    expect({ status: provider.status, body: provider.body }).toEqual({ status: 400, body: expect.objectContaining(refusal('provider')) });
  });
});

describe('the log of requests and unhandled errors (#8 findings 7 and 10)', () => {
  it('an unhandled database error is logged without the statement parameters or the driver error; a hostile X-Request-Id is replaced', async () => {
    const database = await createTestDatabase();
    // A real PostgreSQL error on the registration's INSERT, whose parameters include the new argon2 hash.
    const db = new Client({ ...PG, database: database.name });
    await db.connect();
    await db.query(`
      CREATE FUNCTION refuse_explode() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.first_name = 'Explode' THEN RAISE EXCEPTION 'refused by the test trigger'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER refuse_explode BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION refuse_explode();`);
    const app = await startBuiltApp({
      ...databaseEnv(database.name),
      USERS_LOG_LEVEL: 'info',
      USERS_SECRET_KEY: 'hostile-input-test-secret-key-0123456789abcdef',
      USERS_ADMIN_EMAIL: ADMIN.email,
      USERS_ADMIN_PASSWORD: ADMIN.password,
      USERS_ES_URL: '',
      EMAIL_HOST: '',
    });
    try {
      const body = newUserBody({ first_name: 'Explode' });
      const hostileId = `evil"} ${'x'.repeat(200)}`;
      const answer = await fetch(`${app.url}/users`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': hostileId }, body: JSON.stringify(body) });
      expect(answer.status).toBe(500);
      const requestId = answer.headers.get('x-request-id')!;
      expect(requestId).toMatch(UUID);
      expect(await answer.json()).toMatchObject({ statusCode: 500, code: 'INTERNAL', message: `internal error (request id ${requestId})` });

      let logged: { err?: Record<string, unknown>; requestId?: string } | undefined;
      await expectEventually(() => {
        logged = lines(app.output()).find((line) => line.msg === 'unhandled error');
        expect(logged).toBeDefined();
      });
      expect(logged).toMatchObject({ requestId, err: { type: 'QueryFailedError', message: 'refused by the test trigger' } });
      expect(logged!.err).not.toHaveProperty('parameters');
      expect(logged!.err).not.toHaveProperty('driverError');
      await expectEventually(() => expect(lines(app.output()).some((line) => line.reqId === requestId && line.msg === 'request failed')).toBe(true));
      const output = app.output();
      expect(output).not.toContain('$argon2');
      expect(output).not.toContain(body.email);
      expect(output).not.toContain('evil');
    } finally {
      await app.stop();
      await db.end();
      await database.drop();
    }
  }, 120_000); // the built service boots in a few seconds, more on a loaded machine
});

describe('X-Request-Id in the events’ audit data (#8 finding 10)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const requestIdOfCreate = async (email: string) =>
    (await t.db.query(`SELECT request_id FROM outbox_events WHERE operation = 'user.create' AND data->>'email' = $1`, [email])).rows[0]?.request_id;

  it.each([
    ['over 128 characters', 'r'.repeat(129)],
    ['outside [A-Za-z0-9_.:-]', 'id with spaces/and"quotes'],
  ])('a request id %s is replaced by a generated one before it is recorded', async (_name, hostile) => {
    const body = newUserBody();
    const created = await t.http.post('/users').set('X-Request-Id', hostile).send(body).expect(201);
    expect(created.headers['x-request-id']).toMatch(UUID);
    expect(await requestIdOfCreate(body.email)).toBe(created.headers['x-request-id']);
  });

  it('a sane one (up to 128 of [A-Za-z0-9_.:-]) is recorded as given', async () => {
    const body = newUserBody();
    const sane = `trace-1.2:3_${'a'.repeat(116)}`;
    await t.http.post('/users').set('X-Request-Id', sane).send(body).expect(201);
    expect(await requestIdOfCreate(body.email)).toBe(sane);
  });
});

/** The JSON lines of a log. */
function lines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
