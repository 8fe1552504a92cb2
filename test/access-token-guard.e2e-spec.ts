/**
 * The global guard (AuthGuard) and what makes an access token good (AccessTokenVerifier), rule by
 * rule, over HTTP and the NATS API: public, optional and role-bound routes, the e-mail verification
 * rule, each refusal code, and that a remembered signature check neither outlives the token's `exp`
 * nor skips the user and session. Users are made in SQL and sessions by TokensService.issue (no
 * password hashing): the focused specs of the `access-token-guard` mutation module
 * (docs/mutation-testing.md). test/auth.e2e-spec.ts has the signing details (alg, kid, keys).
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { JSONCodec, NatsConnection, connect } from 'nats';
import { Response } from 'supertest';
import { SigningKeys } from '../src/auth/signing-keys';
import { TokensService } from '../src/auth/tokens.service';
import { authConfig } from '../src/config/auth.config';
import { expectEventually } from './support/eventually';
import { MACHINE_NATS, deleteStream, isolatedStream } from './support/nats';
import { withAdminClient } from './support/postgres';
import { SECRET_KEY, SECRET_KEY_ID, TestApp, startTestApp } from './support/test-app';
import { bearer } from './support/users';

type Claims = Record<string, unknown>;
const json = JSONCodec<Record<string, unknown>>();

/** A token signed with the service's key and the claims chosen here (undefined removes one). */
function signed(claims: Claims): string {
  const kept = Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== undefined));
  const input = `${Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: SECRET_KEY_ID })).toString('base64url')}.${Buffer.from(JSON.stringify(kept)).toString('base64url')}`;
  return `${input}.${createHmac('sha256', SECRET_KEY).update(input).digest('base64url')}`;
}
const claimsOf = (token: string): Claims => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as Claims;

function expectError(response: Response, status: number, code: string, message?: string) {
  expect({ status: response.status, code: response.body.code, ...(message ? { message: response.body.message } : {}) }).toEqual({ status, code, ...(message ? { message } : {}) });
}

describe('the access-token guard', () => {
  const { stream, api, env } = isolatedStream();
  let t: TestApp;
  let nc: NatsConnection;

  beforeAll(async () => {
    t = await startTestApp({ env: env(MACHINE_NATS) });
    nc = await connect({ servers: MACHINE_NATS });
  });
  afterAll(async () => {
    await t.close();
    await deleteStream(nc, stream);
    await nc.close();
  });

  interface Session {
    id: string;
    token: string;
    sid: string;
  }

  /** A user made in SQL, signed in: their id, access token and session. */
  async function session(role: 'user' | 'admin' = 'user', verified = true): Promise<Session> {
    const email = `guard-${randomBytes(6).toString('hex')}@example.com`;
    const { rows } = await t.db.query<{ id: string }>(
      `INSERT INTO users (first_name, last_name, email, role, verified_at) VALUES ('Ada', 'Lovelace', $1, $2, CASE WHEN $3 THEN now() END) RETURNING id`,
      [email, role, verified],
    );
    const pair = await t.app.get(TokensService).issue({ id: rows[0].id, role, verified, email, metadata: {}, authProvider: null }, 'guard-test', { actorId: null, requestId: null });
    return { id: rows[0].id, token: pair.access_token, sid: claimsOf(pair.access_token).sid as string };
  }
  const claimsFor = (s: Session, overrides: Claims = {}): Claims => {
    const now = Math.floor(Date.now() / 1000);
    return { sub: s.id, role: 'user', verified: true, type: 'access', sid: s.sid, jti: randomUUID(), iat: now, exp: now + 600, iss: 'users', aud: 'users', ...overrides };
  };
  const profile = (token?: string) => (token === undefined ? t.http.get('/users/profile') : t.http.get('/users/profile').set(bearer(token)));

  it('a public route needs no token, and ignores a bad one', async () => {
    await t.http.get('/health/live').expect(200);
    await t.http.get('/health/live').set(bearer('garbage')).expect(200);
  });

  it('without a token: 401 TOKEN_MISSING; with one that is none: TOKEN_INVALID', async () => {
    expectError(await profile(), 401, 'TOKEN_MISSING');
    expectError(await t.http.get('/users/profile').set('Authorization', 'Basic YWRhOnB3'), 401, 'TOKEN_MISSING');
    for (const token of ['garbage', 'a.b.c']) expectError(await profile(token), 401, 'TOKEN_INVALID');
  });

  it('accepts a good token and gives the route its user', async () => {
    const s = await session();
    expect((await profile(s.token).expect(200)).body.id).toBe(s.id);
    expect((await profile(signed(claimsFor(s))).expect(200)).body.id).toBe(s.id);
  });

  it('refuses a signed token that is not a well-formed access token of ours: TOKEN_INVALID', async () => {
    const s = await session();
    const bad: Claims[] = [
      { type: 'refresh' },
      { type: undefined },
      { sub: 'not-a-uuid' },
      // A UUID with more around it, or in an array (whose string form is the UUID): not a UUID.
      { sub: `x${s.id}` },
      { sub: `${s.id}x` },
      { sub: [s.id] },
      { sub: 42 },
      { sub: undefined },
      { sid: 'not-a-session' },
      { sid: `x${s.sid}` },
      { sid: `${s.sid}x` },
      { sid: [s.sid] },
      { sid: 7 },
      { sid: undefined },
      { iat: undefined },
      { iat: String(Math.floor(Date.now() / 1000)) },
      { exp: undefined },
      { exp: String(Math.floor(Date.now() / 1000) + 600) },
      { iss: 'someone-else' },
      { aud: 'someone-else' },
    ];
    for (const overrides of bad) {
      expect({ overrides, code: (await profile(signed(claimsFor(s, overrides)))).body.code }).toEqual({ overrides, code: 'TOKEN_INVALID' });
    }
  });

  it('an expired token: TOKEN_EXPIRED', async () => {
    const s = await session();
    const past = Math.floor(Date.now() / 1000) - 60;
    expectError(await profile(signed(claimsFor(s, { iat: past - 600, exp: past }))), 401, 'TOKEN_EXPIRED');
  });

  it('a token of a user who is gone: TOKEN_INVALID (the user no longer exists); disabled: ACCOUNT_DISABLED; of a revoked session: TOKEN_REVOKED — also once its signature check is remembered', async () => {
    const gone = await session();
    const unknown = signed(claimsFor({ ...gone, id: randomUUID() }));
    expectError(await profile(unknown), 401, 'TOKEN_INVALID', 'the user of this token no longer exists');
    await profile(gone.token).expect(200);
    await t.db.query(`UPDATE users SET status = 'deleted', deleted_at = now() WHERE id = $1`, [gone.id]);
    expectError(await profile(gone.token), 401, 'TOKEN_INVALID', 'the user of this token no longer exists');

    const disabled = await session();
    await profile(disabled.token).expect(200);
    await t.db.query(`UPDATE users SET status = 'disabled' WHERE id = $1`, [disabled.id]);
    expectError(await profile(disabled.token), 401, 'ACCOUNT_DISABLED');

    const revoked = await session();
    const { rows: [{ email }] } = await t.db.query<{ email: string }>(`SELECT email FROM users WHERE id = $1`, [revoked.id]);
    const other = await t.app.get(TokensService).issue({ id: revoked.id, role: 'user', verified: true, email, metadata: {}, authProvider: null }, 'other', { actorId: null, requestId: null });
    await profile(revoked.token).expect(200);
    await t.db.query(`UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1`, [revoked.sid]);
    expectError(await profile(revoked.token), 401, 'TOKEN_REVOKED');
    // The user's other session is not affected.
    await profile(other.access_token).expect(200);
  });

  it('a remembered token is refused once its exp has passed', async () => {
    const s = await session();
    const exp = Math.floor(Date.now() / 1000) + 2;
    const token = signed(claimsFor(s, { exp }));
    await profile(token).expect(200);
    // Waits for the clock (a condition, not a timed assertion): the token has expired.
    while (Date.now() <= exp * 1000 + 100) await new Promise((resolve) => setTimeout(resolve, 100));
    expectError(await profile(token), 401, 'TOKEN_EXPIRED');
  });

  it('checks a token’s signature once while it lives (the verified-token cache), its user and session on every request', async () => {
    const s = await session();
    const token = signed(claimsFor(s));
    const verify = jest.spyOn(t.app.get(SigningKeys), 'verify');
    try {
      for (let i = 0; i < 3; i++) await profile(token).expect(200);
      expect(verify).toHaveBeenCalledTimes(1);
    } finally {
      verify.mockRestore();
    }
    await t.db.query(`UPDATE users SET status = 'disabled' WHERE id = $1`, [s.id]);
    expectError(await profile(token), 401, 'ACCOUNT_DISABLED');
  });

  it('a database that cannot be reached while the session is checked: 503 SERVICE_UNAVAILABLE, not a refusal of the token', async () => {
    const s = await session();
    await profile(s.token).expect(200);
    const { rows: [{ pid }] } = await t.db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    // The database takes no new connection, and the app's are cut (this test's own is kept).
    await withAdminClient(async (admin) => {
      await admin.query(`ALTER DATABASE "${t.database}" ALLOW_CONNECTIONS false`);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> $2', [t.database, pid]);
    });
    try {
      const outage = await profile(s.token);
      expect({ status: outage.status, code: outage.body.code }).toEqual({ status: 503, code: 'SERVICE_UNAVAILABLE' });
    } finally {
      await withAdminClient((admin) => admin.query(`ALTER DATABASE "${t.database}" ALLOW_CONNECTIONS true`));
    }
    await expectEventually(async () => expect((await profile(s.token)).status).toBe(200));
  });

  it('a route for admins: 403 FORBIDDEN (naming the role) for a user, 200 for an admin', async () => {
    const user = await session();
    const admin = await session('admin');
    expectError(await t.http.get('/users').set(bearer(user.token)), 403, 'FORBIDDEN', 'requires role admin');
    await t.http.get('/users').set(bearer(admin.token)).expect(200);
  });

  it('an unverified user: 401 EMAIL_NOT_VERIFIED but where allowed; an unverified admin passes; USERS_ALLOW_UNVERIFIED_USER=true lets the user pass', async () => {
    const unverified = await session('user', false);
    const other = await session();
    expectError(await t.http.get(`/users/${other.id}`).set(bearer(unverified.token)), 401, 'EMAIL_NOT_VERIFIED');
    await profile(unverified.token).expect(200);
    const admin = await session('admin', false);
    await t.http.get(`/users/${other.id}`).set(bearer(admin.token)).expect(200);
    await t.http.get(`/users/${other.id}`).set(bearer(other.token)).expect(200);

    // The configuration object the guard was given, switched for this check only.
    const auth = t.app.get<{ allowUnverifiedUser: boolean }>(authConfig.KEY);
    auth.allowUnverifiedUser = true;
    try {
      await t.http.get(`/users/${other.id}`).set(bearer(unverified.token)).expect(200);
    } finally {
      auth.allowUnverifiedUser = false;
    }
  });

  it('a route where the token is optional (registration): passes without one, refuses a bad one, and takes a good one as the caller, verified or not', async () => {
    // An invalid body: a 400 from validation means the guard let the request through.
    const invalid = { first_name: 'Ada' };
    expectError(await t.http.post('/users').send(invalid), 400, 'VALIDATION_FAILED');
    expectError(await t.http.post('/users').set(bearer('garbage')).send(invalid), 401, 'TOKEN_INVALID');
    const unverified = await session('user', false);
    expectError(await t.http.post('/users').set(bearer(unverified.token)).send(invalid), 400, 'VALIDATION_FAILED');
  });

  it('NATS API requests are not HTTP requests: the guard lets them through to their own checks', async () => {
    const s = await session();
    const reply = json.decode((await nc.request(api('get'), json.encode({ id: s.id }), { timeout: 10_000 })).data);
    expect(reply).toMatchObject({ id: s.id });
  });
});
