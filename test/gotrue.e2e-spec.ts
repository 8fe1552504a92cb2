/**
 * The GoTrue-compatible API (issue #14) driven by the real, unmodified clients: @supabase/auth-js's
 * GoTrueClient, and netlify's gotrue-js for its core flows, against the running app on PostgreSQL,
 * mails through a real SMTP server on loopback.
 * Each flow is the client's own methods, asserting what they return and what onAuthStateChange
 * reports; and a token of either API works on the other, a session ended on one is ended on both.
 */
import { GoTrueClient, Provider, Session } from '@supabase/auth-js';
import GoTrue from 'gotrue-js';
import { randomUUID } from 'node:crypto';
import { BitbucketDouble, GithubDouble, GitlabDouble, OidcProvider } from './support/oauth-providers';
import { memoryStorage, newClient } from './support/gotrue-client';
import { expectOutboxRowsMatchAsyncApi } from './support/nats';
import { LoopbackApp, startLoopbackApp } from './support/loopback-app';
import { ReceivedMail, SmtpSink } from './support/smtp-sink';
import { ADMIN, TestApp, startTestApp } from './support/test-app';
import { PASSWORD, bearer, login } from './support/users';

const SITE = 'https://app.example.com';
const NEW_PASSWORD = 'another-horse-battery-staple';

let counter = 0;
const newEmail = (name = 'ada') => `${name}.${Date.now().toString(36)}${++counter}@example.com`;

/** The link of a GoTrue mail (the href to /verify, with its type and redirect). */
function verifyLink(mail: ReceivedMail): URL {
  const match = /href="([^"]*\/auth\/v1\/verify\?[^"]*)"/.exec(mail.html);
  if (!match) throw new Error(`no /verify link in the mail "${mail.subject}"`);
  return new URL(match[1].replace(/&amp;/g, '&'));
}

/** Follows a mailed link as a browser would, to the redirect it answers. */
async function follow(link: URL): Promise<URL> {
  const response = await fetch(link, { redirect: 'manual' });
  expect(response.status).toBe(303);
  return new URL(response.headers.get('location') as string);
}

const fragmentOf = (url: URL) => Object.fromEntries(new URLSearchParams(url.hash.slice(1)));

function claimsOf(accessToken: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url').toString());
}

describe('GoTrue-compatible API with @supabase/auth-js', () => {
  let app: LoopbackApp;
  let smtp: SmtpSink;
  let t: TestApp;
  let api: string;

  /** A confirmed user signed in with a client of their own. */
  async function signedIn(email = newEmail()) {
    const { client, events } = newClient(api);
    const signup = await client.signUp({ email, password: PASSWORD });
    expect(signup.error).toBeNull();
    const link = verifyLink(await smtp.waitFor(email));
    await fetch(link, { redirect: 'manual' });
    const { data, error } = await client.signInWithPassword({ email, password: PASSWORD });
    expect(error).toBeNull();
    return { client, events, email, session: data.session as Session };
  }

  beforeAll(async () => {
    app = await startLoopbackApp({ smtp: true, env: { SITE_URL: `${SITE}/`, MAILER_SUBJECTS_CONFIRMATION: 'Confirm Your Signup' } });
    ({ t, api, smtp } = app);
  }, 60_000);
  afterAll(async () => app?.close());

  it('GET /settings: e-mail sign-up open, confirmation required, no external provider configured', async () => {
    const settings = await (await fetch(`${api}/auth/v1/settings`)).json();
    expect(settings).toMatchObject({ external: { email: true, github: false, google: false }, disable_signup: false, autoconfirm: false, mailer_autoconfirm: false });
  });

  it('signUp, then the mailed link (GET /verify) confirms the address and signs in; setSession takes that session', async () => {
    const email = newEmail();
    const { client, events } = newClient(api);
    const { data, error } = await client.signUp({ email, password: PASSWORD, options: { data: { team: 'core' }, emailRedirectTo: `${SITE}/welcome` } });
    expect(error).toBeNull();
    expect(data.session).toBeNull();
    expect(data.user).toMatchObject({ email, aud: 'users', role: 'authenticated', email_confirmed_at: null, user_metadata: { team: 'core' }, app_metadata: { provider: 'email', providers: ['email'], role: 'user' } });

    // Not confirmed yet: no session (GoTrue's answer).
    const early = await client.signInWithPassword({ email, password: PASSWORD });
    expect(early.error).toMatchObject({ status: 400, code: 'email_not_confirmed' });

    const mail = await smtp.waitFor(email);
    expect(mail.subject).toBe('Confirm Your Signup'); // MAILER_SUBJECTS_CONFIRMATION
    const link = verifyLink(mail);
    expect(link.origin + link.pathname).toBe(`${api}/auth/v1/verify`);
    expect(link.searchParams.get('type')).toBe('signup');
    expect(link.searchParams.get('redirect_to')).toBe(`${SITE}/welcome`);

    const landed = await follow(link);
    expect(landed.origin + landed.pathname).toBe(`${SITE}/welcome`);
    const fragment = fragmentOf(landed);
    expect(fragment).toMatchObject({ token_type: 'bearer', type: 'signup', expires_in: '900' });

    const set = await client.setSession({ access_token: fragment.access_token, refresh_token: fragment.refresh_token });
    expect(set.error).toBeNull();
    expect(set.data.user?.email_confirmed_at).toEqual(expect.any(String));
    expect(set.data.session?.expires_at).toBe(Number(fragment.expires_at));
    expect(events).toContain('SIGNED_IN');

    // The link works once: the second time, the error is in the fragment, as GoTrue puts it.
    const again = fragmentOf(await follow(link));
    expect(again).toMatchObject({ error: 'access_denied', error_code: 'otp_expired' });
    expect(again).not.toHaveProperty('access_token');
  });

  it('a redirect_to off the allowed origins lands on SITE_URL instead (no open redirect)', async () => {
    const email = newEmail();
    const { client } = newClient(api);
    await client.signUp({ email, password: PASSWORD, options: { emailRedirectTo: 'https://evil.example.net/steal' } });
    const landed = await follow(verifyLink(await smtp.waitFor(email)));
    expect(landed.origin).toBe(SITE);
  });

  it('signInWithPassword: a session whose access token carries the claims clients read; wrong password and unknown address alike', async () => {
    const { client, events, email, session } = await signedIn();
    expect(events).toContain('SIGNED_IN');
    expect(session).toMatchObject({ token_type: 'bearer', expires_in: 900, refresh_token: expect.any(String) });
    expect(session.expires_at).toBe(claimsOf(session.access_token).exp);
    expect(session.user).toMatchObject({ email, role: 'authenticated', last_sign_in_at: expect.any(String), identities: [expect.objectContaining({ provider: 'email' })] });
    expect(claimsOf(session.access_token)).toMatchObject({
      sub: session.user.id,
      email,
      role: 'user',
      aud: 'users',
      session_id: expect.any(String),
      app_metadata: { provider: 'email', role: 'user' },
      user_metadata: {},
    });

    const wrong = await newClient(api).client.signInWithPassword({ email, password: 'not-the-password' });
    const unknown = await newClient(api).client.signInWithPassword({ email: newEmail('nobody'), password: 'not-the-password' });
    for (const { data, error } of [wrong, unknown]) {
      expect(data.session).toBeNull();
      expect(error).toMatchObject({ status: 400, code: 'invalid_credentials', message: 'Invalid login credentials' });
    }
    expect((await client.getUser()).data.user?.email).toBe(email);
  });

  it('getUser and updateUser: data merges into user_metadata, a new password right after signing in', async () => {
    const { client, events, email } = await signedIn();
    const got = await client.getUser();
    expect(got.error).toBeNull();
    expect(got.data.user).toMatchObject({ email, email_confirmed_at: expect.any(String), user_metadata: {} });

    const first = await client.updateUser({ data: { theme: 'dark', plan: 'free' } });
    expect(first.error).toBeNull();
    const second = await client.updateUser({ data: { plan: null } });
    expect(second.data.user?.user_metadata).toEqual({ theme: 'dark' });
    expect(events.filter((event) => event === 'USER_UPDATED')).toHaveLength(2);
    // The same metadata on our own API.
    const { rows } = await t.db.query('SELECT metadata FROM users WHERE email = $1', [email]);
    expect(rows[0].metadata).toEqual({ theme: 'dark' });

    // Our password policy, as auth-js's weak-password error.
    const weak = await client.updateUser({ password: 'short' });
    expect(weak.error).toMatchObject({ status: 422, code: 'weak_password', name: 'AuthWeakPasswordError' });

    const changed = await client.updateUser({ password: NEW_PASSWORD });
    expect(changed.error).toBeNull();
    expect((await newClient(api).client.signInWithPassword({ email, password: PASSWORD })).error?.code).toBe('invalid_credentials');
    expect((await newClient(api).client.signInWithPassword({ email, password: NEW_PASSWORD })).error).toBeNull();
  });

  it('a password change on a session older than USERS_REAUTH_WINDOW needs current_password', async () => {
    const { client, session } = await signedIn();
    await t.db.query(`UPDATE refresh_tokens SET created_at = now() - interval '1 hour' WHERE id = $1`, [claimsOf(session.access_token).session_id]);
    const refused = await client.updateUser({ password: NEW_PASSWORD });
    expect(refused.error).toMatchObject({ status: 400, code: 'reauthentication_needed' });
    const allowed = await client.updateUser({ password: NEW_PASSWORD, current_password: PASSWORD } as never);
    expect(allowed.error).toBeNull();
  });

  it('refreshSession rotates the refresh token; presenting the spent one again ends the session (reuse detection)', async () => {
    const { client, events, session } = await signedIn();
    const refreshed = await client.refreshSession();
    expect(refreshed.error).toBeNull();
    expect(refreshed.data.session?.refresh_token).not.toBe(session.refresh_token);
    expect(refreshed.data.session?.user.id).toBe(session.user.id);
    expect(events).toContain('TOKEN_REFRESHED');

    const reuse = await fetch(`${api}/auth/v1/token?grant_type=refresh_token`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refresh_token: session.refresh_token }) });
    expect(reuse.status).toBe(400);
    expect(await reuse.json()).toMatchObject({ error: 'invalid_grant', error_code: 'refresh_token_already_used', code: 400 });

    // The whole session is revoked, the fresh access token with it: auth-js drops its session.
    const after = await client.getUser();
    expect(after.error).toMatchObject({ name: 'AuthSessionMissingError' });
    expect((await client.getSession()).data.session).toBeNull();
  });

  it('signOut: others ends every other session, local this one, global all', async () => {
    const { client: a, email } = await signedIn();
    const b = newClient(api);
    const c = newClient(api);
    const d = newClient(api);
    for (const { client } of [b, c, d]) expect((await client.signInWithPassword({ email, password: PASSWORD })).error).toBeNull();

    expect((await d.client.signOut({ scope: 'others' })).error).toBeNull();
    expect((await d.client.getUser()).error).toBeNull();
    for (const client of [a, b.client, c.client]) expect((await client.getUser()).error).toMatchObject({ name: 'AuthSessionMissingError' });

    for (const { client } of [b, c]) expect((await client.signInWithPassword({ email, password: PASSWORD })).error).toBeNull();
    expect((await b.client.signOut({ scope: 'local' })).error).toBeNull();
    expect(b.events.at(-1)).toBe('SIGNED_OUT');
    expect((await b.client.getSession()).data.session).toBeNull();
    expect((await c.client.getUser()).error).toBeNull();
    expect((await d.client.getUser()).error).toBeNull();

    expect((await c.client.signOut()).error).toBeNull();
    expect(c.events.at(-1)).toBe('SIGNED_OUT');
    expect((await d.client.getUser()).error).toMatchObject({ name: 'AuthSessionMissingError' });
  });

  it('one session, two APIs: each side takes the other\'s access token, and an end on one side is an end on both', async () => {
    const { client, email, session } = await signedIn();
    // GoTrue's token on our own API.
    const profile = await t.http.get('/users/profile').set(bearer(session.access_token)).expect(200);
    expect(profile.body.email).toBe(email);
    // Ours on GoTrue's.
    const ours = await login(t, email, PASSWORD);
    const user = await fetch(`${api}/auth/v1/user`, { headers: bearer(ours.accessToken) });
    expect(user.status).toBe(200);
    expect(((await user.json()) as { email: string }).email).toBe(email);
    // Our refresh token refreshes on GoTrue's /token, and the pair it gives works on ours.
    const refreshed = await fetch(`${api}/auth/v1/token?grant_type=refresh_token`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refresh_token: ours.refreshToken }) });
    const pair = (await refreshed.json()) as { access_token: string };
    await t.http.get('/users/profile').set(bearer(pair.access_token)).expect(200);

    // Logging out on our API ends the GoTrue client's session.
    await t.http.post('/users/logout').set(bearer(ours.accessToken)).expect(204);
    expect((await client.getUser()).error).toMatchObject({ name: 'AuthSessionMissingError' });
    // And signing out on GoTrue's ends the token on ours.
    const other = await signedIn();
    const token = other.session.access_token;
    await t.http.get('/users/profile').set(bearer(token)).expect(200);
    expect((await other.client.signOut({ scope: 'local' })).error).toBeNull();
    const refused = await t.http.get('/users/profile').set(bearer(token)).expect(401);
    expect(refused.body.code).toBe('TOKEN_REVOKED');
  });

  it('resetPasswordForEmail answers alike for any address; the link signs in for verifyOtp (PASSWORD_RECOVERY), then updateUser sets the password', async () => {
    const { email } = await signedIn();
    const { client, events } = newClient(api);
    expect(await client.resetPasswordForEmail(email, { redirectTo: `${SITE}/reset` })).toEqual({ data: {}, error: null });
    expect(await client.resetPasswordForEmail(newEmail('nobody'), { redirectTo: `${SITE}/reset` })).toEqual({ data: {}, error: null });

    const link = verifyLink(await smtp.waitFor(email, 2));
    expect(link.searchParams.get('type')).toBe('recovery');
    const verified = await client.verifyOtp({ token_hash: link.searchParams.get('token') as string, type: 'recovery' });
    expect(verified.error).toBeNull();
    expect(verified.data.user?.email).toBe(email);
    expect(events).toContain('PASSWORD_RECOVERY');

    expect((await client.updateUser({ password: NEW_PASSWORD })).error).toBeNull();
    expect((await newClient(api).client.signInWithPassword({ email, password: NEW_PASSWORD })).error).toBeNull();
    // The link was spent.
    const again = await newClient(api).client.verifyOtp({ token_hash: link.searchParams.get('token') as string, type: 'recovery' });
    expect(again.error).toMatchObject({ status: 403, code: 'otp_expired' });
  });

  it("admin.inviteUserByEmail with an admin's token (POST /invite); the invitee follows the link and sets a password", async () => {
    const adminSession = await newClient(api).client.signInWithPassword({ email: ADMIN.email, password: ADMIN.password });
    const admin = newClient(api, { Authorization: `Bearer ${adminSession.data.session?.access_token}` }).client;
    const email = newEmail('grace');
    const invited = await admin.admin.inviteUserByEmail(email, { redirectTo: `${SITE}/join` });
    expect(invited.error).toBeNull();
    expect(invited.data.user).toMatchObject({ email, email_confirmed_at: null });

    const link = verifyLink(await smtp.waitFor(email));
    expect(link.searchParams.get('type')).toBe('invite');
    const landed = await follow(link);
    expect(landed.origin + landed.pathname).toBe(`${SITE}/join`);
    const fragment = fragmentOf(landed);
    expect(fragment.type).toBe('invite');

    const { client } = newClient(api);
    expect((await client.setSession({ access_token: fragment.access_token, refresh_token: fragment.refresh_token })).error).toBeNull();
    expect((await client.updateUser({ password: NEW_PASSWORD })).error).toBeNull();
    const signIn = await newClient(api).client.signInWithPassword({ email, password: NEW_PASSWORD });
    expect(signIn.error).toBeNull();
    expect(signIn.data.user?.email_confirmed_at).toEqual(expect.any(String));

    // Not an admin: refused.
    const { session } = await signedIn();
    const refused = await newClient(api, { Authorization: `Bearer ${session.access_token}` }).client.admin.inviteUserByEmail(newEmail());
    expect(refused.error).toMatchObject({ status: 403, code: 'not_admin' });
  });

  it('POST /token takes a form-encoded body too; other routes still refuse forms', async () => {
    const { email } = await signedIn();
    const form = await fetch(`${api}/auth/v1/token?grant_type=password`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ email, password: PASSWORD }) });
    expect(form.status).toBe(200);
    expect(await form.json()).toMatchObject({ token_type: 'bearer', user: { email } });
    const refused = await fetch(`${api}/auth/v1/signup`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ email, password: PASSWORD }) });
    expect(refused.status).toBe(415);
  });

  it("an unverified user's token of our own API: GET /user answers, PUT /user refuses as PATCH /users/{id} does", async () => {
    const email = newEmail('unverified');
    await t.http.post('/users').send({ first_name: 'U', last_name: 'V', email, credentials: { username: `unverified${++counter}`, secret: PASSWORD } }).expect(201);
    const ours = await login(t, email, PASSWORD);
    expect((await fetch(`${api}/auth/v1/user`, { headers: bearer(ours.accessToken) })).status).toBe(200);
    const refused = await fetch(`${api}/auth/v1/user`, { method: 'PUT', headers: { ...bearer(ours.accessToken), 'Content-Type': 'application/json' }, body: JSON.stringify({ data: { plan: 'pro' } }) });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error_code: 'email_not_confirmed' });
  });

  it('sign-up of a taken address: our answer (422 email_exists), no second account', async () => {
    const { email } = await signedIn();
    const { data, error } = await newClient(api).client.signUp({ email, password: PASSWORD });
    expect(data.user).toBeNull();
    expect(error).toMatchObject({ status: 422, code: 'email_exists' });
    const { rows } = await t.db.query('SELECT count(*)::int AS n FROM users WHERE email = $1', [email]);
    expect(rows[0].n).toBe(1);
  });

  it('records the same events as our own API (the outbox), each as asyncapi.yaml documents it', async () => {
    const { client, email } = await signedIn();
    expect((await client.signOut({ scope: 'others' })).error).toBeNull();
    const { rows } = await t.db.query(
      `SELECT id, operation, created_at, actor_id, request_id, user_id, data FROM outbox_events WHERE user_id = (SELECT id FROM users WHERE email = $1) ORDER BY seq`,
      [email],
    );
    expect(rows.map((row) => row.operation)).toEqual(['user.create', 'user.send_verification', 'user.verify_email', 'user.issue_token', 'user.issue_token', 'user.logout']);
    expect(rows[5].data).toEqual({ kept_session_id: expect.any(String) });
    expectOutboxRowsMatchAsyncApi(rows);
  });
});

describe('GoTrue-compatible API with gotrue-js (the netlify client)', () => {
  let app: LoopbackApp;
  let smtp: SmtpSink;
  let t: TestApp;
  let gotrue: GoTrue;

  beforeAll(async () => {
    app = await startLoopbackApp({ smtp: true, env: { SITE_URL: `${SITE}/` } });
    ({ t, smtp } = app);
    // Its constructor warns about plain http (a loopback test server here).
    jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    gotrue = new GoTrue({ APIUrl: `${app.api}/auth/v1`, setCookie: false });
  }, 60_000);
  afterAll(async () => {
    jest.restoreAllMocks();
    await app?.close();
  });

  const tokenOf = (mail: ReceivedMail) => /[?&]token=([^&"]+)/.exec(mail.html.replace(/&amp;/g, '&'))?.[1] as string;

  it('settings, signup, confirm, login (form-encoded), getUserData, update, jwt refresh, logout', async () => {
    expect(await gotrue.settings()).toMatchObject({ autoconfirm: false, disable_signup: false });
    const email = newEmail('netlify');
    const signup = await gotrue.signup(email, PASSWORD, { team: 'core' });
    expect(signup).toMatchObject({ email, confirmed_at: null });

    const confirmed = await gotrue.confirm(tokenOf(await smtp.waitFor(email)));
    expect(confirmed.email).toBe(email);
    expect(confirmed.confirmed_at).toEqual(expect.any(String));

    await expect(gotrue.login(email, 'wrong-password')).rejects.toMatchObject({ status: 400, message: 'Invalid login credentials' });
    const user = await gotrue.login(email, PASSWORD);
    expect(user).toMatchObject({ email, user_metadata: { team: 'core' }, app_metadata: { provider: 'email' } });
    const token = user.tokenDetails()?.access_token as string;
    await t.http.get('/users/profile').set(bearer(token)).expect(200);

    const updated = await user.update({ data: { theme: 'dark' } });
    expect(updated.user_metadata).toEqual({ team: 'core', theme: 'dark' });
    expect((await user.getUserData()).user_metadata).toEqual({ team: 'core', theme: 'dark' });

    const refreshed = await user.jwt(true);
    expect(refreshed).not.toBe(token);
    await t.http.get('/users/profile').set(bearer(refreshed)).expect(200);

    await user.logout();
    await t.http.get('/users/profile').set(bearer(refreshed)).expect(401);
  });

  it('requestPasswordRecovery and recover (the link signs in), then update sets the password; acceptInvite sets an invitee\'s password', async () => {
    const email = newEmail('netlify');
    await gotrue.signup(email, PASSWORD);
    await gotrue.confirm(tokenOf(await smtp.waitFor(email)));
    await gotrue.requestPasswordRecovery(email);
    const recovered = await gotrue.recover(tokenOf(await smtp.waitFor(email, 2)));
    expect(recovered.email).toBe(email);
    await recovered.update({ password: NEW_PASSWORD });
    expect((await gotrue.login(email, NEW_PASSWORD)).email).toBe(email);

    const admin = await login(t, ADMIN.email, ADMIN.password);
    const invitee = newEmail('invitee');
    await t.http.post('/users/invite').set(bearer(admin.accessToken)).send({ email: invitee }).expect(201);
    const accepted = await gotrue.acceptInvite(tokenOf(await smtp.waitFor(invitee)), NEW_PASSWORD);
    expect(accepted).toMatchObject({ email: invitee, confirmed_at: expect.any(String) });
    expect((await gotrue.login(invitee, NEW_PASSWORD)).email).toBe(invitee);
  });
});

describe('signInWithOAuth through the OAuth module, against a real OpenID Connect provider (oidc-provider) and the GitHub double', () => {
  let app: LoopbackApp;
  let provider: OidcProvider;
  const github = new GithubDouble({ id: 'gotrue-github', secret: 'gotrue-github-secret' });
  const gitlab = new GitlabDouble({ id: 'gotrue-gitlab', secret: 'gotrue-gitlab-secret' });
  const bitbucket = new BitbucketDouble({ id: 'gotrue-bitbucket', secret: 'gotrue-bitbucket-secret' });
  let t: TestApp;
  let api: string;

  beforeAll(async () => {
    await Promise.all([github.start(), gitlab.start(), bitbucket.start()]);
    app = await startLoopbackApp({
      oidc: { client_id: 'gotrue-oidc', client_secret: 'gotrue-oidc-secret' },
      env: (api) => ({
        SITE_URL: `${SITE}/`,
        // GitHub under GoTrue's names, registered with GoTrue's callback URL.
        EXTERNAL_GITHUB_ENABLED: 'true',
        EXTERNAL_GITHUB_CLIENT_ID: 'gotrue-github',
        EXTERNAL_GITHUB_SECRET: 'gotrue-github-secret',
        EXTERNAL_GITHUB_REDIRECT_URI: `${api}/auth/v1/callback`,
        EXTERNAL_GITHUB_URL: github.url,
        GITHUB_API_URL: github.url,
        // A self-hosted GitLab by GoTrue's names; Bitbucket by ours (both call back at USERS_PUBLIC_URL/oauth/callback/<provider>).
        EXTERNAL_GITLAB_ENABLED: 'true',
        EXTERNAL_GITLAB_CLIENT_ID: 'gotrue-gitlab',
        EXTERNAL_GITLAB_SECRET: 'gotrue-gitlab-secret',
        EXTERNAL_GITLAB_URL: gitlab.url,
        BITBUCKET_CLIENT_ID: 'gotrue-bitbucket',
        BITBUCKET_CLIENT_SECRET: 'gotrue-bitbucket-secret',
        BITBUCKET_URL: bitbucket.url,
        BITBUCKET_API_URL: bitbucket.url,
      }),
    });
    ({ t, api, oidc: provider } = app);
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await Promise.all([github.stop(), gitlab.stop(), bitbucket.stop()]);
  });

  /** A browser: GET /authorize, the provider's login as `account`, back to our callback (with the state cookie); where it lands. */
  async function browse(authorizeUrl: string, account: string): Promise<URL> {
    const started = await fetch(authorizeUrl, { redirect: 'manual' });
    expect(started.status).toBe(302);
    const state = started.headers.getSetCookie().find((cookie) => cookie.startsWith('oauth_state='))?.split(';')[0] as string;
    const at = started.headers.get('location') as string;
    const double = [github, gitlab, bitbucket].some(({ url }) => at.startsWith(url));
    const back = double ? new URL((await fetch(at, { redirect: 'manual' })).headers.get('location') as string) : await provider.signIn(at, account);
    const landed = await fetch(back, { redirect: 'manual', headers: { cookie: state } });
    expect([302, 303]).toContain(landed.status);
    return new URL(landed.headers.get('location') as string);
  }

  async function newAccount(name: string) {
    const account = `${name}${Date.now().toString(36)}${++counter}`;
    await provider.setAccount(account, { email: `${account}@idp.test`, email_verified: true, name: 'Grace Hopper' });
    return account;
  }

  it('PKCE: signInWithOAuth gives the /authorize URL, the browser comes back with ?code=, exchangeCodeForSession (grant_type=pkce) signs in', async () => {
    expect(await (await fetch(`${api}/auth/v1/settings`)).json()).toMatchObject({ external: { oidc: true, google: false } });
    const account = await newAccount('pkce');
    const { client, events } = newClient(api, {}, 'pkce');
    const { data, error } = await client.signInWithOAuth({ provider: 'oidc' as Provider, options: { redirectTo: `${SITE}/callback`, skipBrowserRedirect: true } });
    expect(error).toBeNull();
    const authorize = new URL(data.url as string);
    expect(authorize.origin + authorize.pathname).toBe(`${api}/auth/v1/authorize`);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('s256');

    const landed = await browse(authorize.toString(), account);
    expect(landed.origin + landed.pathname).toBe(`${SITE}/callback`);
    const code = landed.searchParams.get('code') as string;
    expect(code).toEqual(expect.any(String));

    const exchanged = await client.exchangeCodeForSession(code);
    expect(exchanged.error).toBeNull();
    expect(exchanged.data.session?.user).toMatchObject({
      email: `${account}@idp.test`,
      email_confirmed_at: expect.any(String),
      app_metadata: { provider: 'oidc', providers: ['oidc'] },
      identities: [expect.objectContaining({ provider: 'oidc', id: account })],
    });
    expect(events).toContain('SIGNED_IN');
    expect((await client.getUser()).data.user?.email).toBe(`${account}@idp.test`);
    // The same session on our own API.
    await t.http.get('/users/profile').set(bearer(exchanged.data.session!.access_token)).expect(200);

    // A code works once: a second exchange is a spent refresh token, which ends that session.
    const again = await fetch(`${api}/auth/v1/token?grant_type=pkce`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ auth_code: code, code_verifier: 'x'.repeat(43) }) });
    expect(again.status).toBe(403);
    expect(await again.json()).toMatchObject({ error_code: 'bad_code_verifier' });
  });

  it('PKCE: the wrong code verifier, or a forged code, gets no session', async () => {
    const account = await newAccount('forger');
    const { client } = newClient(api, {}, 'pkce');
    const { data } = await client.signInWithOAuth({ provider: 'oidc' as Provider, options: { redirectTo: `${SITE}/callback`, skipBrowserRedirect: true } });
    const code = (await browse(data.url as string, account)).searchParams.get('code') as string;
    const other = newClient(api, {}, 'pkce').client; // its own verifier, not the one of this challenge
    await other.signInWithOAuth({ provider: 'oidc' as Provider, options: { skipBrowserRedirect: true } });
    expect((await other.exchangeCodeForSession(code)).error).toMatchObject({ status: 403, code: 'bad_code_verifier' });
    const forged = await fetch(`${api}/auth/v1/token?grant_type=pkce`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ auth_code: `${code.slice(0, -4)}AAAA`, code_verifier: 'x'.repeat(43) }) });
    expect(forged.status).toBe(404);
    expect(await forged.json()).toMatchObject({ error_code: 'flow_state_not_found', error: 'invalid_request' });
    // (auth-js forgets its verifier after a failed exchange: only the first try of a client counts)
    expect((await client.exchangeCodeForSession(code)).error).toBeNull();
  });

  it("GitHub registered with GoTrue's callback URL (EXTERNAL_GITHUB_REDIRECT_URI=…/auth/v1/callback): the same sign-in through it", async () => {
    const login = `octo${Date.now().toString(36)}${++counter}`;
    github.account = { id: 4242 + counter, login, name: 'Octo Cat', emails: [{ email: `${login}@github.test`, primary: true, verified: true }] };
    expect(await (await fetch(`${api}/auth/v1/settings`)).json()).toMatchObject({ external: { github: true, oidc: true } });
    const { client } = newClient(api, {}, 'pkce');
    const { data } = await client.signInWithOAuth({ provider: 'github', options: { redirectTo: `${SITE}/callback`, skipBrowserRedirect: true } });
    const landed = await browse(data.url as string, login);
    const exchanged = await client.exchangeCodeForSession(landed.searchParams.get('code') as string);
    expect(exchanged.error).toBeNull();
    expect(exchanged.data.user).toMatchObject({ email: `${login}@github.test`, app_metadata: { provider: 'github' } });
  });

  it('GitLab (self-hosted, EXTERNAL_GITLAB_URL) and Bitbucket: signInWithOAuth through their doubles', async () => {
    expect(await (await fetch(`${api}/auth/v1/settings`)).json()).toMatchObject({ external: { gitlab: true, bitbucket: true } });
    const name = `tanuki${Date.now().toString(36)}${++counter}`;
    gitlab.account = { id: 9000 + counter, username: name, name: 'Tanu Ki', email: `${name}@gitlab.test` };
    const fromGitlab = newClient(api, {}, 'pkce').client;
    const viaGitlab = await fromGitlab.signInWithOAuth({ provider: 'gitlab', options: { redirectTo: `${SITE}/callback`, skipBrowserRedirect: true } });
    const gitlabSession = await fromGitlab.exchangeCodeForSession((await browse(viaGitlab.data.url as string, name)).searchParams.get('code') as string);
    expect(gitlabSession.data.user).toMatchObject({ email: `${name}@gitlab.test`, email_confirmed_at: expect.any(String), app_metadata: { provider: 'gitlab' }, identities: [expect.objectContaining({ provider: 'gitlab', id: String(9000 + counter) })] });

    const bucket = `bucket${Date.now().toString(36)}${++counter}`;
    bitbucket.account = { uuid: `{${randomUUID()}}`, username: bucket, display_name: 'Bit Bucket', emails: [{ email: `${bucket}@bitbucket.test`, is_primary: true, is_confirmed: true }] };
    const fromBitbucket = newClient(api, {}, 'pkce').client;
    const viaBitbucket = await fromBitbucket.signInWithOAuth({ provider: 'bitbucket', options: { redirectTo: `${SITE}/callback`, skipBrowserRedirect: true } });
    const bitbucketSession = await fromBitbucket.exchangeCodeForSession((await browse(viaBitbucket.data.url as string, bucket)).searchParams.get('code') as string);
    expect(bitbucketSession.data.user).toMatchObject({ email: `${bucket}@bitbucket.test`, app_metadata: { provider: 'bitbucket' }, identities: [expect.objectContaining({ provider: 'bitbucket', id: bitbucket.account.uuid })] });

    // Bitbucket's unconfirmed primary address does not take over an existing account.
    bitbucket.account = { ...bitbucket.account, uuid: `{${randomUUID()}}`, emails: [{ email: `${name}@gitlab.test`, is_primary: true, is_confirmed: false }] };
    const refused = await fromBitbucket.signInWithOAuth({ provider: 'bitbucket', options: { redirectTo: `${SITE}/callback`, skipBrowserRedirect: true } });
    expect((await browse(refused.data.url as string, bucket)).searchParams.get('error_code')).toBe('email_not_verified_by_provider');
  });

  it('implicit flow: the session lands in the fragment, for setSession; a redirect_to elsewhere lands on SITE_URL', async () => {
    const account = await newAccount('implicit');
    const { client, events } = newClient(api);
    const { data } = await client.signInWithOAuth({ provider: 'oidc' as Provider, options: { redirectTo: 'https://evil.example.net/', skipBrowserRedirect: true } });
    expect(new URL(data.url as string).searchParams.has('code_challenge')).toBe(false);
    const landed = await browse(data.url as string, account);
    expect(landed.origin).toBe(SITE);
    const fragment = fragmentOf(landed);
    expect(fragment).toMatchObject({ token_type: 'bearer', access_token: expect.any(String), refresh_token: expect.any(String) });
    const set = await client.setSession({ access_token: fragment.access_token, refresh_token: fragment.refresh_token });
    expect(set.data.user?.app_metadata.provider).toBe('oidc');
    expect(events).toContain('SIGNED_IN');
  });

  it('a refused sign-in lands on redirect_to with GoTrue\'s error (the provider did not verify the address of an existing account)', async () => {
    const email = newEmail('taken');
    await t.http.post('/users').send({ first_name: 'A', last_name: 'B', email, credentials: { username: `taken${++counter}`, secret: PASSWORD } }).expect(201);
    const account = `unverified${Date.now().toString(36)}${++counter}`;
    await provider.setAccount(account, { email, email_verified: false });
    const { client } = newClient(api, {}, 'pkce');
    const { data } = await client.signInWithOAuth({ provider: 'oidc' as Provider, options: { redirectTo: `${SITE}/callback`, skipBrowserRedirect: true } });
    const landed = await browse(data.url as string, account);
    expect(landed.origin + landed.pathname).toBe(`${SITE}/callback`);
    expect(Object.fromEntries(landed.searchParams)).toMatchObject({ error: 'server_error', error_code: 'email_not_verified_by_provider' });
    expect(fragmentOf(landed)).toMatchObject({ error_code: 'email_not_verified_by_provider' });
  });
});

describe('GoTrue API settings', () => {
  it('GOTRUE_COMPAT_PREFIX empty: not mounted; another prefix: mounted there; DISABLE_SIGNUP and MAILER_AUTOCONFIRM', async () => {
    const off = await startTestApp({ env: { GOTRUE_COMPAT_PREFIX: '' } });
    try {
      await off.http.get('/auth/v1/settings').expect(404);
    } finally {
      await off.close();
    }
    // (the test defaults of USERS_ALLOW_SELF_REGISTER and USERS_ALLOW_UNVERIFIED_USER unset: GoTrue's names stand for them)
    const env = { USERS_ALLOW_SELF_REGISTER: '', USERS_ALLOW_UNVERIFIED_USER: '', GOTRUE_COMPAT_PREFIX: '/gotrue', GOTRUE_DISABLE_SIGNUP: 'true', MAILER_AUTOCONFIRM: 'true', JWT_EXP: '600' };
    const on = await startLoopbackApp({ env });
    const { api } = on;
    try {
      const settings = await (await fetch(`${api}/gotrue/settings`)).json();
      expect(settings).toMatchObject({ disable_signup: true, autoconfirm: true });
      const client = new GoTrueClient({ url: `${api}/gotrue`, storage: memoryStorage(), autoRefreshToken: false, detectSessionInUrl: false });
      const { error } = await client.signUp({ email: newEmail(), password: PASSWORD });
      expect(error).toMatchObject({ status: 422, code: 'signup_disabled' });
      const admin = await client.signInWithPassword({ email: ADMIN.email, password: ADMIN.password });
      expect(admin.data.session?.expires_in).toBe(600); // JWT_EXP
    } finally {
      await on.close();
    }
  });
});
