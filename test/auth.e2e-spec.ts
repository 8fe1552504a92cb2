/**
 * Tokens and sessions end to end (API.md §3 and the token rows of §4): login, access-token checks,
 * refresh rotation and reuse detection, sessions, logout, password change, revocation on disable and
 * delete, password re-hashing, admin bootstrap and closed self-registration.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { Response } from 'supertest';
import { databaseEnv } from './support/postgres';
import { ADMIN, SECRET_KEY, SECRET_KEY_ID, TestApp, createTestDatabase, startTestApp } from './support/test-app';
import { PASSWORD, TestUser, bearer, createUser, loginAdmin, newUserBody } from './support/users';

// ---------------------------------------------------------------------------------------------------
// Helpers used by this file only
// ---------------------------------------------------------------------------------------------------

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

type Json = Record<string, unknown>;

const b64url = (value: Buffer | string) => Buffer.from(value).toString('base64url');

/** Signs a JWT by hand, so that every header and claim can be chosen. */
function signJwt(payload: Json, { alg = 'HS256', secret = SECRET_KEY, header = {} as Json } = {}): string {
  const head = b64url(JSON.stringify({ alg, typ: 'JWT', kid: SECRET_KEY_ID, ...header }));
  const body = b64url(JSON.stringify(payload));
  const input = `${head}.${body}`;
  if (alg === 'none') return `${input}.`;
  const digest = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[alg];
  if (!digest) throw new Error(`cannot sign ${alg}`);
  return `${input}.${createHmac(digest, secret).update(input).digest('base64url')}`;
}

function decodeJwt(token: string): { header: Json; payload: Json } {
  const [header, payload] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Json,
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Json,
  };
}

/** Claims of a valid access token for `user`, as the service would issue them, with `overrides`. */
function claimsFor(user: TestUser, overrides: Json = {}): Json {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub: user.id,
    role: 'user',
    verified: true,
    type: 'access',
    sid: decodeJwt(user.accessToken).payload.sid,
    jti: randomUUID(),
    iat: now,
    exp: now + 600,
    iss: 'users',
    aud: 'users',
    ...overrides,
  };
}

/** The status and the `code` of an error body, together (with the message, so that a failure explains itself). */
function expectError(response: Response, status: number, code: string | string[]) {
  const codes = Array.isArray(code) ? code : [code];
  const body = (response.body ?? {}) as Json;
  expect({ status: response.status, statusCode: body.statusCode, code: body.code, message: body.message }).toEqual({
    status,
    statusCode: status,
    code: codes.length === 1 ? codes[0] : expect.stringMatching(new RegExp(`^(${codes.join('|')})$`)),
    message: expect.any(String),
  });
}

/** Logs in with a chosen User-Agent and answers the whole 201 body. */
async function issue(t: TestApp, identity: string, secret: string = PASSWORD, userAgent = 'jest-auth-e2e') {
  const response = await t.http.post('/users/tokens/issue').set('User-Agent', userAgent).send({ identity, secret });
  expect(response.status).toBe(201);
  return response.body as { access_token: string; refresh_token: string; access_type: string; expires_in: number };
}

const refresh = (t: TestApp, token: string) => t.http.post('/users/tokens/refresh').send({ refresh_token: token });
const profile = (t: TestApp, token: string) => t.http.get('/users/profile').set(bearer(token));

async function sessionsOf(t: TestApp, accessToken: string) {
  const response = await t.http.get('/users/tokens/refresh-tokens').set(bearer(accessToken)).expect(200);
  return response.body.refresh_tokens as { id: string; description: string; created_at: string; expires_at: string }[];
}

/** Fails when a response carries a password, a hash or a secret-named field anywhere. */
function expectNoSecrets(response: Response, ...passwords: string[]) {
  const text = response.text ?? '';
  expect(text).not.toMatch(/password_hash|passwordHash|\$argon2/);
  for (const password of passwords) expect(text).not.toContain(password);
  const forbiddenKeys = new Set(['secret', 'password', 'password_hash', 'passwordHash', 'old_secret', 'new_secret']);
  const walk = (value: unknown, path: string) => {
    if (Array.isArray(value)) value.forEach((item, i) => walk(item, `${path}[${i}]`));
    else if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        expect(forbiddenKeys.has(key) ? `${path}.${key}` : 'ok').toBe('ok');
        walk(inner, `${path}.${key}`);
      }
    }
  };
  walk(response.body, '$');
}

/** The argon2 parameters of a PHC string such as `$argon2id$v=19$m=19456,t=2,p=1$salt$hash` (any order). */
function argon2Params(hash: string): Record<string, string> {
  const [, variant, version, params] = hash.split('$');
  const entries = params.split(',').map((pair) => pair.split('=') as [string, string]);
  return { variant, version, ...Object.fromEntries(entries) };
}

async function passwordHashOf(t: TestApp, id: string): Promise<string> {
  const { rows } = await t.db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [id]);
  return rows[0].password_hash;
}

// ---------------------------------------------------------------------------------------------------

describe('auth (default configuration)', () => {
  let t: TestApp;
  let admin: string;

  beforeAll(async () => {
    t = await startTestApp();
    admin = await loginAdmin(t);
  });
  afterAll(() => t.close());

  describe('POST /users/tokens/issue', () => {
    it('logs in by e-mail and answers {access_token, refresh_token, access_type: Bearer, expires_in}', async () => {
      const user = await createUser(t);
      const response = await t.http.post('/users/tokens/issue').send({ identity: user.email, secret: user.password }).expect(201);
      expect(Object.keys(response.body).sort()).toEqual(['access_token', 'access_type', 'expires_in', 'refresh_token']);
      expect(response.body.access_type).toBe('Bearer');
      expect(response.body.expires_in).toBe(900);
      expect(typeof response.body.access_token).toBe('string');
      expect(typeof response.body.refresh_token).toBe('string');
      expect(response.body.refresh_token).not.toBe(response.body.access_token);
      const me = await profile(t, response.body.access_token).expect(200);
      expect(me.body.id).toBe(user.id);
      expectNoSecrets(response, user.password);
    });

    it('logs in by username', async () => {
      const user = await createUser(t);
      const tokens = await issue(t, user.username, user.password);
      expect((await profile(t, tokens.access_token).expect(200)).body.id).toBe(user.id);
    });

    it('matches e-mail and username case-insensitively', async () => {
      const user = await createUser(t);
      for (const identity of [user.email.toUpperCase(), user.username.toUpperCase(), user.email.replace('ada', 'AdA')]) {
        const tokens = await issue(t, identity, user.password);
        expect((await profile(t, tokens.access_token).expect(200)).body.id).toBe(user.id);
      }
    });

    it('accepts {username, password} as aliases of {identity, secret}', async () => {
      const user = await createUser(t);
      for (const username of [user.username, user.email]) {
        const response = await t.http.post('/users/tokens/issue').send({ username, password: user.password }).expect(201);
        expect(response.body.access_type).toBe('Bearer');
        expect((await profile(t, response.body.access_token).expect(200)).body.id).toBe(user.id);
      }
    });

    it('refuses a wrong password and an unknown identity alike: 401 INVALID_CREDENTIALS', async () => {
      const user = await createUser(t);
      const wrongPassword = await t.http.post('/users/tokens/issue').send({ identity: user.email, secret: 'not-the-password' });
      const wrongUsername = await t.http.post('/users/tokens/issue').send({ identity: user.username, secret: 'not-the-password' });
      const unknown = await t.http.post('/users/tokens/issue').send({ identity: `nobody.${randomBytes(4).toString('hex')}@example.com`, secret: user.password });
      const unknownUsername = await t.http.post('/users/tokens/issue').send({ identity: `nobody_${randomBytes(4).toString('hex')}`, secret: user.password });
      for (const response of [wrongPassword, wrongUsername, unknown, unknownUsername]) expectError(response, 401, 'INVALID_CREDENTIALS');
      // The same body: nothing tells an existing account from a missing one.
      expect(unknown.body).toEqual(wrongPassword.body);
      expect(unknownUsername.body).toEqual(wrongUsername.body);
      expectNoSecrets(wrongPassword, user.password, 'not-the-password');
    });

    it('answers 400 VALIDATION_FAILED when identity or secret is missing', async () => {
      const user = await createUser(t);
      const bodies: unknown[] = [
        {},
        { identity: user.email },
        { secret: user.password },
        { username: user.username },
        { password: user.password },
        { identity: '', secret: user.password },
        { identity: user.email, secret: '' },
        { identity: 42, secret: user.password },
      ];
      for (const body of bodies) {
        const response = await t.http.post('/users/tokens/issue').send(body as object);
        expectError(response, 400, 'VALIDATION_FAILED');
      }
      expectError(await t.http.post('/users/tokens/issue'), 400, 'VALIDATION_FAILED');
    });

    it('refuses a disabled user with the right password: 401 ACCOUNT_DISABLED (wrong password: INVALID_CREDENTIALS)', async () => {
      const user = await createUser(t);
      await t.http.post(`/users/${user.id}/disable`).set(bearer(admin)).expect(200);
      expectError(await t.http.post('/users/tokens/issue').send({ identity: user.email, secret: user.password }), 401, 'ACCOUNT_DISABLED');
      expectError(await t.http.post('/users/tokens/issue').send({ identity: user.email, secret: 'wrong-password' }), 401, 'INVALID_CREDENTIALS');
    });

    it('refuses a deleted user as if unknown: 401 INVALID_CREDENTIALS', async () => {
      const user = await createUser(t);
      await t.http.delete(`/users/${user.id}`).set(bearer(admin)).expect(204);
      expectError(await t.http.post('/users/tokens/issue').send({ identity: user.email, secret: user.password }), 401, 'INVALID_CREDENTIALS');
      expectError(await t.http.post('/users/tokens/issue').send({ identity: user.username, secret: user.password }), 401, 'INVALID_CREDENTIALS');
    });

    it('issues an HS256 access token naming its key (kid) with sub, role, verified, type, sid, jti, iat, exp, iss and aud', async () => {
      const user = await createUser(t);
      const tokens = await issue(t, user.email, user.password, 'claims-check');
      const { header, payload } = decodeJwt(tokens.access_token);
      expect(header).toEqual({ alg: 'HS256', typ: 'JWT', kid: SECRET_KEY_ID });
      // The key is a secret: nothing to publish.
      expect((await t.http.get('/.well-known/jwks.json').expect(200)).body).toEqual({ keys: [] });
      expect(payload).toMatchObject({ sub: user.id, role: 'user', verified: true, type: 'access', iss: 'users', aud: 'users' });
      expect(payload.sid).toMatch(UUID);
      expect(payload.jti).toMatch(UUID);
      expect(typeof payload.iat).toBe('number');
      expect(typeof payload.exp).toBe('number');
      expect(Math.round((payload.exp as number) - (payload.iat as number))).toBe(900);
      expect(Math.abs((payload.iat as number) - Date.now() / 1000)).toBeLessThan(300);
      // sid names the session that GET /users/tokens/refresh-tokens lists.
      const sessions = await sessionsOf(t, tokens.access_token);
      expect(sessions.find((s) => s.id === payload.sid)?.description).toBe('claims-check');
      // Another login: another session and another token id.
      const other = decodeJwt((await issue(t, user.email, user.password)).access_token).payload;
      expect(other.sid).not.toBe(payload.sid);
      expect(other.jti).not.toBe(payload.jti);
    });

    it('says verified: false for an unverified user and role admin for the admin', async () => {
      const unverified = await createUser(t, {}, { verified: false });
      expect(decodeJwt(unverified.accessToken).payload).toMatchObject({ sub: unverified.id, verified: false, role: 'user' });
      expect(decodeJwt(admin).payload).toMatchObject({ role: 'admin', type: 'access' });
    });
  });

  describe('access token checks (GET /users/profile)', () => {
    let user: TestUser;
    beforeAll(async () => {
      user = await createUser(t);
    });

    it('accepts a token crafted here with the right key and claims (the crafting below is sound)', async () => {
      const response = await profile(t, signJwt(claimsFor(user))).expect(200);
      expect(response.body.id).toBe(user.id);
    });

    it('no token → 401 TOKEN_MISSING', async () => {
      expectError(await t.http.get('/users/profile'), 401, 'TOKEN_MISSING');
    });

    it('garbage → 401 TOKEN_INVALID', async () => {
      for (const token of ['garbage', 'a.b.c', `${user.accessToken}x`, user.accessToken.split('.').slice(0, 2).join('.')]) {
        expectError(await profile(t, token), 401, 'TOKEN_INVALID');
      }
    });

    it('wrong signature → 401 TOKEN_INVALID', async () => {
      expectError(await profile(t, signJwt(claimsFor(user), { secret: 'another-secret-key-that-is-long-enough-xx' })), 401, 'TOKEN_INVALID');
      // The genuine token with its payload swapped (signature no longer matches).
      const [head, , signature] = user.accessToken.split('.');
      const forged = `${head}.${b64url(JSON.stringify(claimsFor(user, { role: 'admin' })))}.${signature}`;
      expectError(await profile(t, forged), 401, 'TOKEN_INVALID');
    });

    it('alg "none" → 401 TOKEN_INVALID', async () => {
      expectError(await profile(t, signJwt(claimsFor(user), { alg: 'none' })), 401, 'TOKEN_INVALID');
      expectError(await profile(t, signJwt(claimsFor(user), { alg: 'none', header: { alg: 'NONE' } })), 401, 'TOKEN_INVALID');
    });

    it('missing or unknown kid → 401 TOKEN_INVALID (the key is chosen by kid, never guessed)', async () => {
      expectError(await profile(t, signJwt(claimsFor(user), { header: { kid: undefined } })), 401, 'TOKEN_INVALID');
      expectError(await profile(t, signJwt(claimsFor(user), { header: { kid: 'another-key' } })), 401, 'TOKEN_INVALID');
    });

    it('HS512 (or HS384) signed with the same secret → 401 TOKEN_INVALID (algorithm pinned)', async () => {
      expectError(await profile(t, signJwt(claimsFor(user), { alg: 'HS512' })), 401, 'TOKEN_INVALID');
      expectError(await profile(t, signJwt(claimsFor(user), { alg: 'HS384' })), 401, 'TOKEN_INVALID');
    });

    it('wrong iss, wrong or missing aud → 401 TOKEN_INVALID', async () => {
      expectError(await profile(t, signJwt(claimsFor(user, { iss: 'someone-else' }))), 401, 'TOKEN_INVALID');
      expectError(await profile(t, signJwt(claimsFor(user, { iss: undefined }))), 401, 'TOKEN_INVALID');
      expectError(await profile(t, signJwt(claimsFor(user, { aud: 'other-service' }))), 401, 'TOKEN_INVALID');
      expectError(await profile(t, signJwt(claimsFor(user, { aud: undefined }))), 401, 'TOKEN_INVALID');
    });

    it('type other than "access" → 401 TOKEN_INVALID', async () => {
      for (const type of ['refresh', 'recovery', 'verification', undefined]) {
        expectError(await profile(t, signJwt(claimsFor(user, { type }))), 401, 'TOKEN_INVALID');
      }
    });

    it('sub that is not a UUID or names no user → 401 TOKEN_INVALID', async () => {
      expectError(await profile(t, signJwt(claimsFor(user, { sub: 'not-a-uuid' }))), 401, 'TOKEN_INVALID');
      expectError(await profile(t, signJwt(claimsFor(user, { sub: randomUUID() }))), 401, 'TOKEN_INVALID');
    });

    it('expired (properly signed, exp in the past) → 401 TOKEN_EXPIRED', async () => {
      const now = Math.floor(Date.now() / 1000);
      expectError(await profile(t, signJwt(claimsFor(user, { iat: now - 3600, exp: now - 1800 }))), 401, 'TOKEN_EXPIRED');
    });

    it('a refresh token sent as the bearer → 401', async () => {
      const tokens = await issue(t, user.email, user.password);
      const response = await profile(t, tokens.refresh_token);
      expectError(response, 401, 'TOKEN_INVALID');
      // …and the refresh token was not spent by that.
      await refresh(t, tokens.refresh_token).expect(201);
    });
  });

  describe('POST /users/tokens/refresh', () => {
    it('spends {refresh_token} for a new pair bound to the same session', async () => {
      const user = await createUser(t);
      const response = await refresh(t, user.refreshToken).expect(201);
      expect(Object.keys(response.body).sort()).toEqual(['access_token', 'access_type', 'expires_in', 'refresh_token']);
      expect(response.body.access_type).toBe('Bearer');
      expect(response.body.expires_in).toBe(900);
      expect(response.body.refresh_token).not.toBe(user.refreshToken);
      const before = decodeJwt(user.accessToken).payload;
      const after = decodeJwt(response.body.access_token).payload;
      expect(after).toMatchObject({ sub: user.id, role: 'user', verified: true, type: 'access', sid: before.sid, iss: 'users', aud: 'users' });
      expect(after.jti).not.toBe(before.jti);
      expect((await profile(t, response.body.access_token).expect(200)).body.id).toBe(user.id);
    });

    it('accepts the refresh token as Authorization: Bearer', async () => {
      const user = await createUser(t);
      const response = await t.http.post('/users/tokens/refresh').set(bearer(user.refreshToken)).expect(201);
      expect((await profile(t, response.body.access_token).expect(200)).body.id).toBe(user.id);
      await refresh(t, response.body.refresh_token).expect(201);
    });

    it('rotates: the spent token no longer works', async () => {
      const user = await createUser(t);
      const first = await refresh(t, user.refreshToken).expect(201);
      expectError(await refresh(t, user.refreshToken), 401, 'REFRESH_TOKEN_REUSED');
      expectError(await t.http.post('/users/tokens/refresh').set(bearer(user.refreshToken)), 401, ['REFRESH_TOKEN_REUSED', 'REFRESH_TOKEN_INVALID']);
      expect(first.body.refresh_token).toBeDefined();
    });

    it('reuse of a spent token → 401 REFRESH_TOKEN_REUSED and its whole family is revoked; other sessions live on', async () => {
      const user = await createUser(t);
      const otherSession = await issue(t, user.email, user.password, 'other-session');
      const successor = (await refresh(t, user.refreshToken).expect(201)).body.refresh_token as string;

      expectError(await refresh(t, user.refreshToken), 401, 'REFRESH_TOKEN_REUSED');
      // The successor issued from the spent token is dead too…
      expectError(await refresh(t, successor), 401, ['REFRESH_TOKEN_INVALID', 'REFRESH_TOKEN_REUSED']);
      // …and the session is gone from the list, while the second login's session still works.
      const sessions = await sessionsOf(t, otherSession.access_token);
      expect(sessions.map((s) => s.id)).not.toContain(decodeJwt(user.accessToken).payload.sid);
      expect(sessions.map((s) => s.id)).toContain(decodeJwt(otherSession.access_token).payload.sid);
      const next = await refresh(t, otherSession.refresh_token).expect(201);
      await refresh(t, next.body.refresh_token).expect(201);
    });

    it('malformed or unknown token → 401 REFRESH_TOKEN_INVALID', async () => {
      const user = await createUser(t);
      const [id] = user.refreshToken.split('.');
      const malformed = [
        'garbage',
        `${id}.short`,
        `${id}.${randomBytes(32).toString('base64url')}`, // right id, wrong secret
        `${randomUUID()}.${randomBytes(32).toString('base64url')}`, // unknown id
        user.accessToken, // an access token is no refresh token
        `${user.refreshToken}x`,
      ];
      const responses = [
        ...(await Promise.all(malformed.map((token) => refresh(t, token)))),
        await t.http.post('/users/tokens/refresh').set('Authorization', 'Bearer garbage'),
        await t.http.post('/users/tokens/refresh'),
        await t.http.post('/users/tokens/refresh').send({}),
      ];
      // A wrong secret for a real id neither spends nor revokes the real token.
      await refresh(t, user.refreshToken).expect(201);
      for (const response of responses) expectError(response, 401, 'REFRESH_TOKEN_INVALID');
    });

    it('expired refresh token → 401 REFRESH_TOKEN_INVALID', async () => {
      const user = await createUser(t);
      const [id] = user.refreshToken.split('.');
      const { rowCount } = await t.db.query(`UPDATE refresh_tokens SET expires_at = now() - interval '1 minute' WHERE id = $1`, [id]);
      expect(rowCount).toBe(1);
      expectError(await refresh(t, user.refreshToken), 401, 'REFRESH_TOKEN_INVALID');
    });

    it('refuses the refresh token of a user an admin disabled, also after re-enabling', async () => {
      const user = await createUser(t);
      const second = await issue(t, user.email, user.password);
      await t.http.post(`/users/${user.id}/disable`).set(bearer(admin)).expect(200);
      expectError(await refresh(t, user.refreshToken), 401, ['REFRESH_TOKEN_INVALID', 'ACCOUNT_DISABLED']);
      await t.http.post(`/users/${user.id}/enable`).set(bearer(admin)).expect(200);
      // Disabling revoked every refresh token for good.
      expectError(await refresh(t, second.refresh_token), 401, 'REFRESH_TOKEN_INVALID');
    });

    it('concurrent double-spend of one token: exactly one 201', async () => {
      const user = await createUser(t);
      const responses = await Promise.all([refresh(t, user.refreshToken), refresh(t, user.refreshToken), refresh(t, user.refreshToken)]);
      const statuses = responses.map((r) => r.status).sort();
      expect(statuses).toEqual([201, 401, 401]);
      for (const response of responses.filter((r) => r.status === 401)) {
        expectError(response, 401, ['REFRESH_TOKEN_REUSED', 'REFRESH_TOKEN_INVALID']);
      }
    });
  });

  describe('sessions: GET /users/tokens/refresh-tokens and POST /users/tokens/revoke', () => {
    it('lists one entry per login with {id, description (User-Agent), created_at, expires_at}', async () => {
      const user = await createUser(t);
      const one = await issue(t, user.email, user.password, 'ua-one/1.0');
      const two = await issue(t, user.email, user.password, 'ua-two/2.0');
      const sessions = await sessionsOf(t, one.access_token);
      expect(sessions).toHaveLength(3); // createUser's login too
      for (const session of sessions) {
        expect(Object.keys(session).sort()).toEqual(['created_at', 'description', 'expires_at', 'id']);
        expect(session.id).toMatch(UUID);
        expect(session.created_at).toMatch(RFC3339);
        expect(session.expires_at).toMatch(RFC3339);
        expect(Date.parse(session.expires_at)).toBeGreaterThan(Date.parse(session.created_at));
      }
      const byId = new Map(sessions.map((s) => [s.id, s]));
      expect(byId.get(decodeJwt(one.access_token).payload.sid as string)?.description).toBe('ua-one/1.0');
      expect(byId.get(decodeJwt(two.access_token).payload.sid as string)?.description).toBe('ua-two/2.0');
      expect(byId.has(decodeJwt(user.accessToken).payload.sid as string)).toBe(true);
      expect(JSON.stringify(sessions)).not.toContain(one.refresh_token.split('.')[1]);

      // A refresh keeps the session: still three entries, same ids, same description.
      await refresh(t, two.refresh_token).expect(201);
      const after = await sessionsOf(t, one.access_token);
      expect(after.map((s) => s.id).sort()).toEqual(sessions.map((s) => s.id).sort());
      expect(after.find((s) => s.id === decodeJwt(two.access_token).payload.sid)?.description).toBe('ua-two/2.0');

      // Another user's list is their own.
      const other = await createUser(t);
      const theirs = await sessionsOf(t, other.accessToken);
      expect(theirs.map((s) => s.id)).toEqual([decodeJwt(other.accessToken).payload.sid]);
    });

    it('needs an access token', async () => {
      expectError(await t.http.get('/users/tokens/refresh-tokens'), 401, 'TOKEN_MISSING');
      expectError(await t.http.post('/users/tokens/revoke').send({ token_id: randomUUID() }), 401, 'TOKEN_MISSING');
    });

    it('revokes one session: 204, its refresh token then fails, the others keep working', async () => {
      const user = await createUser(t);
      const doomed = await issue(t, user.email, user.password, 'doomed');
      const sid = decodeJwt(doomed.access_token).payload.sid as string;
      const response = await t.http.post('/users/tokens/revoke').set(bearer(user.accessToken)).send({ token_id: sid });
      expect(response.status).toBe(204);
      expect(response.text).toBe('');
      expectError(await refresh(t, doomed.refresh_token), 401, 'REFRESH_TOKEN_INVALID');
      expect((await sessionsOf(t, user.accessToken)).map((s) => s.id)).not.toContain(sid);
      await refresh(t, user.refreshToken).expect(201);
      // Revoking it again: it is no longer a live session.
      expectError(await t.http.post('/users/tokens/revoke').set(bearer(user.accessToken)).send({ token_id: sid }), 404, 'TOKEN_NOT_FOUND');
    });

    it('revokes a session whose token was rotated (by the session id, not the token id)', async () => {
      const user = await createUser(t);
      const rotated = (await refresh(t, user.refreshToken).expect(201)).body as { access_token: string; refresh_token: string };
      const sid = decodeJwt(user.accessToken).payload.sid as string;
      await t.http.post('/users/tokens/revoke').set(bearer(rotated.access_token)).send({ token_id: sid }).expect(204);
      expectError(await refresh(t, rotated.refresh_token), 401, 'REFRESH_TOKEN_INVALID');
    });

    it('unknown id → 404 TOKEN_NOT_FOUND', async () => {
      const user = await createUser(t);
      expectError(await t.http.post('/users/tokens/revoke').set(bearer(user.accessToken)).send({ token_id: randomUUID() }), 404, 'TOKEN_NOT_FOUND');
    });

    it("another user's session id → 404 TOKEN_NOT_FOUND, and that session is not revoked", async () => {
      const attacker = await createUser(t);
      const victim = await createUser(t);
      const sid = decodeJwt(victim.accessToken).payload.sid as string;
      const byAttacker = await t.http.post('/users/tokens/revoke').set(bearer(attacker.accessToken)).send({ token_id: sid });
      // Even an admin revokes only its own sessions through this endpoint.
      const byAdmin = await t.http.post('/users/tokens/revoke').set(bearer(admin)).send({ token_id: sid });
      // First the state that matters: the victim's session is alive…
      expect((await sessionsOf(t, victim.accessToken)).map((s) => s.id)).toContain(sid);
      await refresh(t, victim.refreshToken).expect(201);
      // …then the answers.
      expectError(byAttacker, 404, 'TOKEN_NOT_FOUND');
      expectError(byAdmin, 404, 'TOKEN_NOT_FOUND');
    });

    it('non-UUID or missing token_id → 400 VALIDATION_FAILED; unknown field → 400', async () => {
      const user = await createUser(t);
      for (const body of [{ token_id: 'not-a-uuid' }, { token_id: 42 }, {}, { token_id: randomUUID(), extra: 1 }]) {
        expectError(await t.http.post('/users/tokens/revoke').set(bearer(user.accessToken)).send(body), 400, 'VALIDATION_FAILED');
      }
      await refresh(t, user.refreshToken).expect(201);
    });
  });

  describe('POST /users/logout', () => {
    it('204; every refresh token dies, earlier access tokens → 401 TOKEN_REVOKED; a new login works', async () => {
      const user = await createUser(t);
      const second = await issue(t, user.email, user.password, 'second');
      const third = await issue(t, user.email, user.password, 'third');
      const rotated = (await refresh(t, third.refresh_token).expect(201)).body as { access_token: string; refresh_token: string };
      const bystander = await createUser(t);

      const response = await t.http.post('/users/logout').set(bearer(second.access_token));
      expect(response.status).toBe(204);
      expect(response.text).toBe('');

      for (const token of [user.refreshToken, second.refresh_token, rotated.refresh_token]) {
        expectError(await refresh(t, token), 401, 'REFRESH_TOKEN_INVALID');
      }
      for (const token of [user.accessToken, second.access_token, third.access_token, rotated.access_token]) {
        expectError(await profile(t, token), 401, 'TOKEN_REVOKED');
      }
      expectError(await t.http.post('/users/logout').set(bearer(second.access_token)), 401, 'TOKEN_REVOKED');

      // Someone else is untouched.
      await profile(t, bystander.accessToken).expect(200);
      await refresh(t, bystander.refreshToken).expect(201);

      // A new login starts afresh: one session, working tokens.
      const fresh = await issue(t, user.email, user.password, 'after-logout');
      expect((await profile(t, fresh.access_token).expect(200)).body.id).toBe(user.id);
      const sessions = await sessionsOf(t, fresh.access_token);
      expect(sessions.map((s) => s.description)).toEqual(['after-logout']);
      const next = await refresh(t, fresh.refresh_token).expect(201);
      await profile(t, next.body.access_token).expect(200);
    });

    it('needs an access token', async () => {
      expectError(await t.http.post('/users/logout'), 401, 'TOKEN_MISSING');
    });
  });

  describe('PATCH /users/secret', () => {
    it("200 user; the caller's session lives on, other sessions die; only the new password logs in", async () => {
      const user = await createUser(t);
      const other = await issue(t, user.email, user.password, 'other');
      const newSecret = 'a-brand-new-password-42';

      const response = await t.http.patch('/users/secret').set(bearer(user.accessToken)).send({ old_secret: user.password, new_secret: newSecret });
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ id: user.id, email: user.email, credentials: { username: user.username }, status: 'enabled' });
      expectNoSecrets(response, user.password, newSecret);

      // The caller's own session keeps refreshing.
      const mine = await refresh(t, user.refreshToken).expect(201);
      await refresh(t, mine.body.refresh_token).expect(201);
      // Every other session is revoked.
      expectError(await refresh(t, other.refresh_token), 401, 'REFRESH_TOKEN_INVALID');
      expect((await sessionsOf(t, user.accessToken)).map((s) => s.id)).toEqual([decodeJwt(user.accessToken).payload.sid]);

      expectError(await t.http.post('/users/tokens/issue').send({ identity: user.email, secret: user.password }), 401, 'INVALID_CREDENTIALS');
      await issue(t, user.email, newSecret);
      await issue(t, user.username, newSecret);
    });

    it('keeps the session of a rotated access token (the session, not the first token, is the caller)', async () => {
      const user = await createUser(t);
      const rotated = (await refresh(t, user.refreshToken).expect(201)).body as { access_token: string; refresh_token: string };
      await t.http.patch('/users/secret').set(bearer(rotated.access_token)).send({ old_secret: user.password, new_secret: 'another-new-password' }).expect(200);
      await refresh(t, rotated.refresh_token).expect(201);
    });

    it('wrong old_secret → 403 WRONG_SECRET, nothing changes', async () => {
      const user = await createUser(t);
      const other = await issue(t, user.email, user.password);
      const response = await t.http.patch('/users/secret').set(bearer(user.accessToken)).send({ old_secret: 'not-my-password', new_secret: 'a-valid-new-password' });
      expectError(response, 403, 'WRONG_SECRET');
      expectNoSecrets(response, user.password, 'not-my-password', 'a-valid-new-password');
      await issue(t, user.email, user.password);
      expectError(await t.http.post('/users/tokens/issue').send({ identity: user.email, secret: 'a-valid-new-password' }), 401, 'INVALID_CREDENTIALS');
      await refresh(t, other.refresh_token).expect(201);
    });

    it('new secret not matching USERS_PASS_REGEX (^.{8,}$) → 400 VALIDATION_FAILED, nothing changes', async () => {
      const user = await createUser(t);
      const other = await issue(t, user.email, user.password);
      const hash = await passwordHashOf(t, user.id);
      for (const newSecret of ['short', '1234567', '']) {
        const response = await t.http.patch('/users/secret').set(bearer(user.accessToken)).send({ old_secret: user.password, new_secret: newSecret });
        expectError(response, 400, 'VALIDATION_FAILED');
      }
      expect(await passwordHashOf(t, user.id)).toBe(hash);
      await issue(t, user.email, user.password);
      await refresh(t, other.refresh_token).expect(201);
    });

    it('unknown or missing fields → 400 VALIDATION_FAILED', async () => {
      const user = await createUser(t);
      const bodies = [
        { old_secret: user.password, new_secret: 'a-valid-new-password', extra: true },
        { old_secret: user.password, new_secret: 'a-valid-new-password', password_hash: 'x' },
        { old_secret: user.password },
        { new_secret: 'a-valid-new-password' },
        { old_secret: user.password, new_secret: 12345678 },
      ];
      for (const body of bodies) {
        expectError(await t.http.patch('/users/secret').set(bearer(user.accessToken)).send(body), 400, 'VALIDATION_FAILED');
      }
      await issue(t, user.email, user.password);
    });

    it('needs an access token', async () => {
      expectError(await t.http.patch('/users/secret').send({ old_secret: PASSWORD, new_secret: 'whatever-password' }), 401, 'TOKEN_MISSING');
    });
  });

  describe('disabling and deleting revoke tokens', () => {
    it('disabled → 401 ACCOUNT_DISABLED at once; re-enabled → old token TOKEN_REVOKED, a new login works', async () => {
      const user = await createUser(t);
      await profile(t, user.accessToken).expect(200);
      const disabled = await t.http.post(`/users/${user.id}/disable`).set(bearer(admin)).expect(200);
      expect(disabled.body.status).toBe('disabled');
      expectError(await profile(t, user.accessToken), 401, 'ACCOUNT_DISABLED');
      expectError(await refresh(t, user.refreshToken), 401, ['REFRESH_TOKEN_INVALID', 'ACCOUNT_DISABLED']);

      const enabled = await t.http.post(`/users/${user.id}/enable`).set(bearer(admin)).expect(200);
      expect(enabled.body.status).toBe('enabled');
      expectError(await profile(t, user.accessToken), 401, 'TOKEN_REVOKED');
      expectError(await refresh(t, user.refreshToken), 401, 'REFRESH_TOKEN_INVALID');

      const fresh = await issue(t, user.email, user.password);
      expect((await profile(t, fresh.access_token).expect(200)).body.status).toBe('enabled');
      await refresh(t, fresh.refresh_token).expect(201);
    });

    it('a user who disables themself is locked out at once', async () => {
      const user = await createUser(t);
      await t.http.post(`/users/${user.id}/disable`).set(bearer(user.accessToken)).expect(200);
      expectError(await profile(t, user.accessToken), 401, 'ACCOUNT_DISABLED');
      expectError(await refresh(t, user.refreshToken), 401, ['REFRESH_TOKEN_INVALID', 'ACCOUNT_DISABLED']);
    });

    it("soft-deleted (by an admin) → the user's access token 401, refresh refused, login INVALID_CREDENTIALS", async () => {
      const user = await createUser(t);
      await t.http.delete(`/users/${user.id}`).set(bearer(admin)).expect(204);
      const { rows } = await t.db.query<{ status: string }>('SELECT status FROM users WHERE id = $1', [user.id]);
      expect(rows[0].status).toBe('deleted');
      const response = await profile(t, user.accessToken);
      expect(response.status).toBe(401);
      expect(['TOKEN_INVALID', 'TOKEN_REVOKED']).toContain(response.body.code);
      expectError(await refresh(t, user.refreshToken), 401, 'REFRESH_TOKEN_INVALID');
      expectError(await t.http.post('/users/tokens/issue').send({ identity: user.email, secret: user.password }), 401, 'INVALID_CREDENTIALS');
    });

    it('self-deleted → the same token is refused right after the 204', async () => {
      const user = await createUser(t);
      await t.http.delete(`/users/${user.id}`).set(bearer(user.accessToken)).expect(204);
      const response = await profile(t, user.accessToken);
      expect(response.status).toBe(401);
      expect(['TOKEN_INVALID', 'TOKEN_REVOKED']).toContain(response.body.code);
      expectError(await refresh(t, user.refreshToken), 401, 'REFRESH_TOKEN_INVALID');
    });

    it('re-enabling a deleted user does not revive its old tokens', async () => {
      const user = await createUser(t);
      await t.http.delete(`/users/${user.id}`).set(bearer(admin)).expect(204);
      await t.http.post(`/users/${user.id}/enable`).set(bearer(admin)).expect(200);
      expectError(await profile(t, user.accessToken), 401, 'TOKEN_REVOKED');
      expectError(await refresh(t, user.refreshToken), 401, 'REFRESH_TOKEN_INVALID');
      await issue(t, user.email, user.password);
    });
  });

  describe('no secret is ever echoed', () => {
    it('register, login, refresh, profile, view, list, change secret, sessions, errors: no password, hash or secret field', async () => {
      const body = newUserBody();
      const password = body.credentials.secret;
      const newSecret = 'the-next-password-99';
      const responses: { response: Response; name: string }[] = [];
      const keep = (name: string, response: Response) => {
        responses.push({ name, response });
        return response;
      };

      const created = keep('register', await t.http.post('/users').send(body).expect(201));
      expect(created.body.credentials).toEqual({ username: body.credentials.username });
      const id = created.body.id as string;
      await t.db.query('UPDATE users SET verified_at = now() WHERE id = $1', [id]);
      const tokens = keep('login', await t.http.post('/users/tokens/issue').send({ identity: body.email, secret: password }).expect(201));
      const access = tokens.body.access_token as string;
      keep('refresh', await refresh(t, tokens.body.refresh_token).expect(201));
      keep('profile', await profile(t, access).expect(200));
      keep('view self', await t.http.get(`/users/${id}`).set(bearer(access)).expect(200));
      keep('admin view', await t.http.get(`/users/${id}`).set(bearer(admin)).expect(200));
      keep('admin list', await t.http.get(`/users?email=${encodeURIComponent(body.email)}`).set(bearer(admin)).expect(200));
      keep('sessions', await t.http.get('/users/tokens/refresh-tokens').set(bearer(access)).expect(200));
      keep('duplicate register', await t.http.post('/users').send(body));
      keep('wrong login', await t.http.post('/users/tokens/issue').send({ identity: body.email, secret: `${password}-wrong` }));
      keep('bad new secret', await t.http.patch('/users/secret').set(bearer(access)).send({ old_secret: password, new_secret: 'short' }));
      keep('wrong old secret', await t.http.patch('/users/secret').set(bearer(access)).send({ old_secret: `${password}-wrong`, new_secret: newSecret }));
      keep('change secret', await t.http.patch('/users/secret').set(bearer(access)).send({ old_secret: password, new_secret: newSecret }).expect(200));
      keep('disable', await t.http.post(`/users/${id}/disable`).set(bearer(admin)).expect(200));

      for (const { name, response } of responses) {
        try {
          expectNoSecrets(response, password, newSecret);
        } catch (error) {
          throw new Error(`${name}: ${(error as Error).message}`);
        }
      }
    });
  });
});

describe('password re-hash on login', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('a hash made with other argon2 parameters is replaced at the next login, and login still works', async () => {
    const user = await createUser(t);
    const before = await passwordHashOf(t, user.id);
    expect(argon2Params(before)).toEqual({ variant: 'argon2id', version: 'v=19', m: '19456', t: '2', p: '1' });

    const replica = await startTestApp({ database: t.database, env: { USERS_ARGON2_ITERATIONS: '3' } });
    try {
      const tokens = await issue(replica, user.email, user.password);
      const after = await passwordHashOf(t, user.id);
      expect(argon2Params(after)).toEqual({ variant: 'argon2id', version: 'v=19', m: '19456', t: '3', p: '1' });
      expect(after).not.toBe(before);
      expect((await profile(replica, tokens.access_token).expect(200)).body.id).toBe(user.id);
      // The new hash is good for the same password (on both configurations), and already current here.
      await issue(replica, user.username, user.password);
      expect(await passwordHashOf(t, user.id)).toBe(after);
      expectError(await replica.http.post('/users/tokens/issue').send({ identity: user.email, secret: 'wrong-password' }), 401, 'INVALID_CREDENTIALS');
      expect(await passwordHashOf(t, user.id)).toBe(after);
    } finally {
      await replica.close();
    }
    await issue(t, user.email, user.password);
  });
});

describe('admin bootstrap', () => {
  it('two replicas booting together on one fresh database create exactly one admin, who can log in; a later boot adds none', async () => {
    const database = await createTestDatabase();
    const apps: TestApp[] = [];
    // startTestApp sets process.env around each boot and puts it back afterwards; with two boots
    // interleaved, the first to finish would restore it under the other. Pin the same environment for
    // the duration, so that the race under test is the admin bootstrap's and not the harness's.
    const savedEnv = process.env;
    process.env = {
      ...savedEnv,
      USERS_LOG_LEVEL: 'error',
      ...databaseEnv(database.name),
      USERS_DB_POOL_SIZE: '5',
      USERS_SECRET_KEY: SECRET_KEY,
      USERS_ADMIN_EMAIL: ADMIN.email,
      USERS_ADMIN_PASSWORD: ADMIN.password,
    };
    try {
      const started = await Promise.allSettled([startTestApp({ database: database.name }), startTestApp({ database: database.name })]).finally(() => {
        process.env = savedEnv;
      });
      for (const result of started) if (result.status === 'fulfilled') apps.push(result.value);
      expect(started.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
      const [a, b] = apps;

      const count = async () =>
        (
          await a.db.query<{ admins: number; by_email: number }>(
            `SELECT count(*) FILTER (WHERE role = 'admin')::int AS admins, count(*) FILTER (WHERE email = $1)::int AS by_email FROM users`,
            [ADMIN.email],
          )
        ).rows[0];
      expect(await count()).toEqual({ admins: 1, by_email: 1 });
      const { rows } = await a.db.query<{ role: string; status: string; verified: boolean; password_hash: string }>(
        'SELECT role, status, verified_at IS NOT NULL AS verified, password_hash FROM users WHERE email = $1',
        [ADMIN.email],
      );
      expect(rows[0]).toMatchObject({ role: 'admin', status: 'enabled', verified: true });
      expect(rows[0].password_hash).toMatch(/^\$argon2id\$/);
      expect(rows[0].password_hash).not.toContain(ADMIN.password);

      for (const app of [a, b]) {
        const token = await loginAdmin(app);
        expect(decodeJwt(token).payload.role).toBe('admin');
        const me = await profile(app, token).expect(200);
        expect(me.body).toMatchObject({ email: ADMIN.email, role: 'admin' });
      }

      apps.push(await startTestApp({ database: database.name }));
      expect(await count()).toEqual({ admins: 1, by_email: 1 });
      await loginAdmin(apps[2]);
    } finally {
      for (const app of apps) await app.close();
      await database.drop();
    }
  });
});

describe('USERS_ALLOW_SELF_REGISTER=false', () => {
  let t: TestApp;
  let admin: string;
  beforeAll(async () => {
    t = await startTestApp({ env: { USERS_ALLOW_SELF_REGISTER: 'false' } });
    admin = await loginAdmin(t);
  });
  afterAll(() => t.close());

  it('anonymous POST /users → 401; a user → 403 FORBIDDEN; the admin → 201', async () => {
    const anonymous = await t.http.post('/users').send(newUserBody());
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.code).toBe('TOKEN_MISSING');

    const body = newUserBody();
    const created = await t.http.post('/users').set(bearer(admin)).send(body).expect(201);
    expect(created.headers.location).toBe(`/users/${created.body.id}`);
    expectNoSecrets(created, body.credentials.secret);
    await t.db.query('UPDATE users SET verified_at = now() WHERE id = $1', [created.body.id]);

    const tokens = await issue(t, body.email, body.credentials.secret);
    expectError(await t.http.post('/users').set(bearer(tokens.access_token)).send(newUserBody()), 403, 'FORBIDDEN');

    const { rows } = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE role = 'user'`);
    expect(rows[0].n).toBe(1);
  });

  it('a bad token on POST /users is still a 401, not an anonymous request', async () => {
    expectError(await t.http.post('/users').set(bearer('garbage')).send(newUserBody()), 401, 'TOKEN_INVALID');
  });
});
