/**
 * Access tokens end with their session (#8 findings 6 and 8): a token names its session (`sid`), and
 * the guard refuses it as soon as that session is revoked — by a password change, by revoking it, by
 * refresh-reuse detection, by logging out — comparing only values of the database (no app clock).
 * A token must carry `exp`, `iat` and `sid`.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { Response } from 'supertest';
import { SECRET_KEY, SECRET_KEY_ID, TestApp, startTestApp } from './support/test-app';
import { TestUser, bearer, createUser, login, loginAdmin } from './support/users';

type Claims = Record<string, unknown>;

const claimsOf = (token: string): Claims => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Claims;

/** An access token signed with the tests' key (the service's own), with the claims chosen here. */
function signed(claims: Claims): string {
  const input = `${Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: SECRET_KEY_ID })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${createHmac('sha256', SECRET_KEY).update(input).digest('base64url')}`;
}

/** The claims the service would issue for the user's session, with `overrides` (undefined removes a claim). */
function claimsFor(user: TestUser, overrides: Claims = {}): Claims {
  const now = Math.floor(Date.now() / 1000);
  const claims: Claims = { sub: user.id, role: 'user', verified: true, type: 'access', sid: claimsOf(user.accessToken).sid, jti: randomUUID(), iat: now, exp: now + 600, iss: 'users', aud: 'users', ...overrides };
  return Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== undefined));
}

const profile = (t: TestApp, token: string) => t.http.get('/users/profile').set(bearer(token));
const refresh = (t: TestApp, token: string) => t.http.post('/users/tokens/refresh').send({ refresh_token: token });

function expectRefused(response: Response, code: string) {
  expect({ status: response.status, code: response.body.code }).toEqual({ status: 401, code });
}

describe('access tokens and their session', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('a signed token without exp, iat or sid → 401 TOKEN_INVALID (the same claims with them → 200)', async () => {
    const user = await createUser(t);
    await profile(t, signed(claimsFor(user))).expect(200);
    for (const missing of ['exp', 'iat', 'sid']) {
      expectRefused(await profile(t, signed(claimsFor(user, { [missing]: undefined }))), 'TOKEN_INVALID');
    }
    expectRefused(await profile(t, signed(claimsFor(user, { sid: 'not-a-session' }))), 'TOKEN_INVALID');
    expectRefused(await profile(t, signed(claimsFor(user, { exp: String(Math.floor(Date.now() / 1000) + 600) }))), 'TOKEN_INVALID');
  });

  it('password change: the access tokens of every other session → 401 at once; the caller’s keep working', async () => {
    const user = await createUser(t);
    const other = await login(t, user.email, user.password);
    const rotatedOther = (await refresh(t, other.refreshToken).expect(201)).body.access_token as string;
    await profile(t, other.accessToken).expect(200);

    await t.http.patch('/users/secret').set(bearer(user.accessToken)).send({ old_secret: user.password, new_secret: 'a-new-password-123' }).expect(200);

    expectRefused(await profile(t, other.accessToken), 'TOKEN_REVOKED');
    expectRefused(await profile(t, rotatedOther), 'TOKEN_REVOKED');
    await profile(t, user.accessToken).expect(200);
  });

  it('revoking one session: its access tokens (also earlier ones) → 401 at once; other sessions keep working', async () => {
    const user = await createUser(t);
    const doomed = await login(t, user.email, user.password);
    const rotated = (await refresh(t, doomed.refreshToken).expect(201)).body.access_token as string;

    await t.http.post('/users/tokens/revoke').set(bearer(user.accessToken)).send({ token_id: claimsOf(doomed.accessToken).sid }).expect(204);

    expectRefused(await profile(t, doomed.accessToken), 'TOKEN_REVOKED');
    expectRefused(await profile(t, rotated), 'TOKEN_REVOKED');
    await profile(t, user.accessToken).expect(200);
  });

  it('refresh-token reuse: the access tokens of that session → 401 at once; other sessions keep working', async () => {
    const user = await createUser(t);
    const other = await login(t, user.email, user.password);
    const successor = (await refresh(t, user.refreshToken).expect(201)).body.access_token as string;

    expectRefused(await refresh(t, user.refreshToken), 'REFRESH_TOKEN_REUSED');

    expectRefused(await profile(t, user.accessToken), 'TOKEN_REVOKED');
    expectRefused(await profile(t, successor), 'TOKEN_REVOKED');
    await profile(t, other.accessToken).expect(200);
  });

  it('one clock: a token whose iat is ahead of the database (a fast app clock) is still refused after logout and after disable + enable', async () => {
    const inFuture = (user: TestUser) => signed(claimsFor(user, { iat: Math.floor(Date.now() / 1000) + 120 }));

    const user = await createUser(t);
    const ahead = inFuture(user);
    await profile(t, ahead).expect(200);
    await t.http.post('/users/logout').set(bearer(user.accessToken)).expect(204);
    expectRefused(await profile(t, ahead), 'TOKEN_REVOKED');

    const admin = await loginAdmin(t);
    const other = await createUser(t);
    const otherAhead = inFuture(other);
    await t.http.post(`/users/${other.id}/disable`).set(bearer(admin)).expect(200);
    await t.http.post(`/users/${other.id}/enable`).set(bearer(admin)).expect(200);
    expectRefused(await profile(t, otherAhead), 'TOKEN_REVOKED');
    expectRefused(await profile(t, other.accessToken), 'TOKEN_REVOKED');
  });
});
