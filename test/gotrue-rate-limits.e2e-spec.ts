/**
 * The GoTrue API (issue #14) under our rate limits and login lockout, counted in the machine's Redis
 * (a key prefix of this run): each /auth/v1 route counts under the limit of its native twin, so that
 * both APIs together get no more than one of them; a refusal under /auth/v1 is GoTrue's 429 as
 * @supabase/auth-js reads it (AuthApiError, over_request_rate_limit or over_email_send_rate_limit),
 * with Retry-After, while our own routes keep our body. Each test is a client address of its own
 * (X-Forwarded-For from a trusted proxy), so that the per-IP limits of one test do not reach the next.
 */
import { isAuthApiError } from '@supabase/auth-js';
import { freePort } from './support/built-app';
import { newClient } from './support/gotrue-client';
import { MACHINE_REDIS, uniqueKeyPrefix } from './support/redis';
import { ADMIN, TestApp, startTestApp } from './support/test-app';
import { PASSWORD, newUserBody } from './support/users';

const LIMIT = 3;
const RATE_LIMITED = { statusCode: 429, code: 'RATE_LIMITED', message: expect.stringMatching(/^rate limit reached; retry in \d+ s$/) };

describe('GoTrue API under the rate limits and the login lockout of our own routes', () => {
  let t: TestApp;
  let api: string;
  let addresses = 0;
  /** A client address no other test uses. */
  const newAddress = () => ({ 'x-forwarded-for': `198.51.100.${++addresses}` });

  const post = async (path: string, body: unknown, headers: Record<string, string>) => {
    const response = await fetch(`${api}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as Record<string, unknown> };
  };

  /** A user registered through our API (USERS_ALLOW_UNVERIFIED_USER: signs in at once), from an address of its own. */
  async function newUser() {
    const body = newUserBody();
    expect((await post('/users', body, newAddress())).status).toBe(201);
    return { email: body.email, password: body.credentials.secret };
  }

  beforeAll(async () => {
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    t = await startTestApp({
      port,
      env: {
        USERS_PUBLIC_URL: api,
        USERS_ALLOW_UNVERIFIED_USER: 'true',
        USERS_TRUSTED_PROXIES: '127.0.0.1, ::1',
        USERS_RATE_LIMIT_ENABLED: 'true',
        USERS_RATE_LIMIT_TOKEN: `${LIMIT}/5m`,
        USERS_RATE_LIMIT_REFRESH: `${LIMIT}/5m`,
        USERS_RATE_LIMIT_SIGNUP: `${LIMIT}/5m`,
        USERS_RATE_LIMIT_EMAIL: `${LIMIT}/5m`,
        USERS_RATE_LIMIT_EMAIL_ACCOUNT: '2/1h',
        USERS_LOGIN_LOCKOUT: '2/15m',
        USERS_REDIS_URL: MACHINE_REDIS,
        USERS_REDIS_KEY_PREFIX: uniqueKeyPrefix(),
      },
    });
  }, 60_000);
  afterAll(async () => t?.close());

  it("sign-ins: POST /users/tokens/issue and signInWithPassword count together; auth-js then gets AuthApiError 429 over_request_rate_limit, our API our 429", async () => {
    const user = await newUser();
    const from = newAddress();
    const { client } = newClient(api, from);
    expect((await post('/users/tokens/issue', { identity: user.email, secret: user.password }, from)).status).toBe(201);
    expect((await client.signInWithPassword(user)).error).toBeNull();
    expect((await post('/users/tokens/issue', { identity: user.email, secret: user.password }, from)).status).toBe(201);

    const refused = await client.signInWithPassword(user);
    expect(isAuthApiError(refused.error)).toBe(true);
    expect(refused.error).toMatchObject({ status: 429, code: 'over_request_rate_limit' });
    expect(refused.data.session).toBeNull();

    const raw = await post('/auth/v1/token?grant_type=password', user, from);
    expect(raw).toMatchObject({ status: 429, body: { code: 429, error_code: 'over_request_rate_limit', msg: expect.any(String) } });
    expect(Number(raw.retryAfter)).toBeGreaterThanOrEqual(1);
    const native = await post('/users/tokens/issue', { identity: user.email, secret: user.password }, from);
    expect(native.status).toBe(429);
    expect(native.body).toMatchObject(RATE_LIMITED);
    expect(Number(native.retryAfter)).toBeGreaterThanOrEqual(1);

    // A PKCE code's exchange ends a sign-in: the same limit. A refresh is under the refresh limit, not this one.
    expect((await post('/auth/v1/token?grant_type=pkce', { auth_code: 'code', code_verifier: 'x'.repeat(43) }, from)).status).toBe(429);
    const refreshed = await client.refreshSession();
    expect(refreshed.error).toBeNull();
  });

  it('refreshes: POST /users/tokens/refresh and grant_type=refresh_token (JSON or form-encoded) count together', async () => {
    const from = newAddress();
    const answers = [
      await post('/users/tokens/refresh', { refresh_token: 'not-a-token' }, from),
      await post('/auth/v1/token?grant_type=refresh_token', { refresh_token: 'not-a-token' }, from),
      await post('/users/tokens/refresh', { refresh_token: 'not-a-token' }, from),
    ];
    expect(answers.map(({ status }) => status)).toEqual([401, 400, 401]);
    const form = await fetch(`${api}/auth/v1/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...from }, body: 'grant_type=refresh_token&refresh_token=not-a-token' });
    expect(form.status).toBe(429);
    expect(await form.json()).toMatchObject({ code: 429, error_code: 'over_request_rate_limit', error: 'slow_down' });
  });

  it('sign-ups: POST /users and signUp count together', async () => {
    const from = newAddress();
    expect((await post('/users', newUserBody(), from)).status).toBe(201);
    const { client } = newClient(api, from);
    const email = (tag: string) => `limited.${tag}.${Date.now().toString(36)}@example.com`;
    expect((await client.signUp({ email: email('a'), password: PASSWORD })).error).toBeNull();
    expect((await post('/users', newUserBody(), from)).status).toBe(201);
    const refused = await client.signUp({ email: email('b'), password: PASSWORD });
    expect(refused.error).toMatchObject({ status: 429, code: 'over_request_rate_limit' });
  });

  it('mails to one address: POST /password/reset-request and resetPasswordForEmail count together, whatever the client address; auth-js gets over_email_send_rate_limit', async () => {
    const user = await newUser();
    expect((await post('/password/reset-request', { email: user.email }, newAddress())).status).toBe(201);
    expect((await newClient(api, newAddress()).client.resetPasswordForEmail(user.email)).error).toBeNull();

    const refused = await newClient(api, newAddress()).client.resetPasswordForEmail(user.email);
    expect(isAuthApiError(refused.error)).toBe(true);
    expect(refused.error).toMatchObject({ status: 429, code: 'over_email_send_rate_limit' });
    const native = await post('/password/reset-request', { email: user.email }, newAddress());
    expect(native.body).toMatchObject(RATE_LIMITED);
  });

  it("invitations: POST /users/invite and admin.inviteUserByEmail count together per invitee (not per admin); auth-js gets over_email_send_rate_limit", async () => {
    const signedIn = await post('/users/tokens/issue', { identity: ADMIN.email, secret: ADMIN.password }, newAddress());
    const asAdmin = (from = newAddress()) => ({ ...from, authorization: `Bearer ${signedIn.body.access_token as string}` });
    const admin = () => newClient(api, asAdmin()).client.admin;
    const invitee = (tag: string) => `invited.${tag}.${Date.now().toString(36)}@example.com`;

    // Three invitees: each its own count (the admin's own address is not the recipient).
    expect((await post('/users/invite', { email: invitee('a') }, asAdmin())).status).toBe(201);
    for (const tag of ['b', 'c']) expect((await admin().inviteUserByEmail(invitee(tag))).error).toBeNull();

    // One invitee invited again and again, on either API: the per-address limit (2/1h).
    const again = invitee('again');
    expect((await post('/users/invite', { email: again }, asAdmin())).status).toBe(201);
    expect((await admin().inviteUserByEmail(again)).error).toBeNull();
    const refused = await admin().inviteUserByEmail(again);
    expect(isAuthApiError(refused.error)).toBe(true);
    expect(refused.error).toMatchObject({ status: 429, code: 'over_email_send_rate_limit' });
    expect((await post('/users/invite', { email: again }, asAdmin())).body).toMatchObject(RATE_LIMITED);
  });

  it('the login lockout: failures on either API lock the account on both; the right password then gets a wrong password\'s answer', async () => {
    const user = await newUser();
    const { client } = newClient(api, newAddress());
    expect((await post('/users/tokens/issue', { identity: user.email, secret: 'wrong-guess-1' }, newAddress())).status).toBe(401);
    expect((await client.signInWithPassword({ email: user.email, password: 'wrong-guess-2' })).error).toMatchObject({ status: 400, code: 'invalid_credentials' });

    // Locked (2 failures in 15 minutes): the right password, from anywhere, is answered as a wrong one.
    const locked = await newClient(api, newAddress()).client.signInWithPassword(user);
    expect(locked.error).toMatchObject({ status: 400, code: 'invalid_credentials', message: 'Invalid login credentials' });
    expect(locked.data.session).toBeNull();
    const native = await post('/users/tokens/issue', { identity: user.email, secret: user.password }, newAddress());
    expect(native).toMatchObject({ status: 401, body: { code: 'INVALID_CREDENTIALS' } });
  });
});
