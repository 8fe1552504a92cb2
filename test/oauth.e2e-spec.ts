/**
 * OAuth sign-in (API.md §4, the OAuth rows) through a real OpenID Connect provider on loopback
 * (oidc-provider: its login page, PKCE required) for `oidc` and `google`, and a GitHub double for
 * GitHub's own API: new, returning and linked users, the refusals, every failure path, and the
 * cookie session a UI gets.
 */
import { Response } from 'supertest';
import { STATE_TTL_MS } from '../src/oauth/state-store';
import { GithubDouble, OidcProvider } from './support/oauth-providers';
import { asyncApiValidators } from './support/nats';
import { TestApp, startTestApp } from './support/test-app';
import { Authenticator, claimsOf } from './support/totp';
import { PASSWORD, bearer, createUser, login, loginAdmin } from './support/users';

const UI = 'http://127.0.0.1:9095';
const CALLBACK = (provider: string) => `http://127.0.0.1:9002/oauth/callback/${provider}`;
const OIDC_CLIENT = { client_id: 'users-oidc', client_secret: 'oidc-client-secret', redirect_uris: [CALLBACK('oidc')] };
const GOOGLE_CLIENT = { client_id: 'users-google', client_secret: 'google-client-secret', redirect_uris: [CALLBACK('google')] };
const GITHUB_CLIENT = { id: 'users-github', secret: 'github-client-secret' };

let uniqueLogin = 0;
const newLogin = (name: string) => `${name}${Date.now().toString(36)}${++uniqueLogin}`;

interface Cookie {
  value: string;
  attributes: Record<string, string | true>;
}

function cookiesOf(response: Response): Record<string, Cookie> {
  const header = response.headers['set-cookie'] as unknown as string[] | undefined;
  return Object.fromEntries(
    (header ?? []).map((line) => {
      const [pair, ...attributes] = line.split(';').map((part) => part.trim());
      const [name, ...value] = pair.split('=');
      return [name, { value: value.join('='), attributes: Object.fromEntries(attributes.map((a) => { const [k, ...v] = a.split('='); return [k.toLowerCase(), v.length ? v.join('=') : true]; })) }];
    }),
  );
}

/** The GitHub provider at `github` (a double on loopback), and where the UI gets the outcome. */
const githubEnv = (github: GithubDouble) => ({
  GITHUB_URL: github.url,
  GITHUB_API_URL: github.url,
  GITHUB_CLIENT_ID: GITHUB_CLIENT.id,
  GITHUB_CLIENT_SECRET: GITHUB_CLIENT.secret,
  GITHUB_REDIRECT_URL: CALLBACK('github'),
  OAUTH_UI_REDIRECT_URL: `${UI}/signed-in`,
  OAUTH_UI_ERROR_URL: `${UI}/error`,
});

const errorOf = (response: Response) => new URL(response.headers.location).searchParams.get('error');

describe('OAuth sign-in', () => {
  const provider = new OidcProvider();
  const github = new GithubDouble(GITHUB_CLIENT);
  let t: TestApp;

  beforeAll(async () => {
    await provider.start([OIDC_CLIENT, GOOGLE_CLIENT]);
    await github.start();
    t = await startTestApp({
      env: {
        OIDC_ISSUER_URL: provider.issuer,
        OIDC_CLIENT_ID: OIDC_CLIENT.client_id,
        OIDC_CLIENT_SECRET: OIDC_CLIENT.client_secret,
        OIDC_REDIRECT_URL: CALLBACK('oidc'),
        OIDC_DISPLAY_NAME: 'Test IdP',
        GOOGLE_ISSUER_URL: provider.issuer,
        GOOGLE_CLIENT_ID: GOOGLE_CLIENT.client_id,
        GOOGLE_CLIENT_SECRET: GOOGLE_CLIENT.client_secret,
        GOOGLE_REDIRECT_URL: CALLBACK('google'),
        ...githubEnv(github),
        OAUTH_ALLOWED_REDIRECT_ORIGINS: `${UI},https://app.example.com`,
      },
    });
  });
  afterAll(async () => {
    await t.close();
    provider.stop();
    await github.stop();
  });

  /** GET /oauth/authorize: the provider URL and this browser's state cookie. */
  async function authorize(name: string, query = '') {
    const response = await t.http.get(`/oauth/authorize/${name}${query}`);
    return { response, location: response.headers.location as string, state: cookiesOf(response).oauth_state };
  }

  /** The browser coming back to our callback, with its state cookie. */
  const callback = (url: URL, stateCookie?: string) => {
    const request = t.http.get(`${url.pathname}${url.search}`);
    return stateCookie ? request.set('Cookie', `oauth_state=${stateCookie}`) : request;
  };

  /** A whole sign-in at the OIDC provider as `account`, up to our answer. */
  async function signIn(name: 'oidc' | 'google', account: string, query = '') {
    const { location, state } = await authorize(name, query);
    const back = await provider.signIn(location, account);
    return callback(back, state.value);
  }

  /** A whole sign-in at the GitHub double as its current `account`, up to our answer. */
  async function githubSignIn() {
    const { location, state } = await authorize('github');
    const back = await fetch(location, { redirect: 'manual' });
    return callback(new URL(back.headers.get('location')!), state.value);
  }

  const identityOf = async (userId: string) => (await t.db.query('SELECT provider, subject FROM user_identities WHERE user_id = $1 ORDER BY provider', [userId])).rows;
  const lastOauthLogin = async (userId: string) =>
    (await t.db.query(`SELECT data FROM outbox_events WHERE user_id = $1 AND operation = 'user.oauth_login' ORDER BY seq DESC LIMIT 1`, [userId])).rows[0]?.data;

  it('lists the enabled providers, with the registration settings', async () => {
    const settings = await t.http.get('/oauth/providers').expect(200);
    expect(settings.body).toEqual({
      providers: [
        { name: 'google', display_name: 'Google', authorize_url: '/oauth/authorize/google' },
        { name: 'github', display_name: 'GitHub', authorize_url: '/oauth/authorize/github' },
        { name: 'oidc', display_name: 'Test IdP', authorize_url: '/oauth/authorize/oidc' },
      ],
      self_register: true,
      allow_unverified: false,
    });
  });

  it('sends the browser to the provider with a fresh state bound to it and PKCE (S256)', async () => {
    const first = await authorize('oidc');
    expect(first.response.status).toBe(302);
    const url = new URL(first.location);
    expect(url.origin + url.pathname).toBe(`${provider.issuer}/auth`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: OIDC_CLIENT.client_id,
      redirect_uri: CALLBACK('oidc'),
      response_type: 'code',
      scope: 'openid email profile',
      // Named by its provider (a callback shared by every provider, the GoTrue API's, tells them apart by it).
      state: expect.stringMatching(/^oidc\.[A-Za-z0-9_-]{43}$/),
      code_challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      code_challenge_method: 'S256',
    });
    expect(first.state.attributes).toMatchObject({ path: '/oauth/callback/oidc', httponly: true, samesite: 'Lax', 'max-age': '600' });
    expect(first.state.attributes.secure).toBeUndefined(); // the UI is http on loopback here
    expect(first.state.value).not.toContain(url.searchParams.get('state'));
    const second = await authorize('oidc');
    expect(new URL(second.location).searchParams.get('state')).not.toBe(url.searchParams.get('state'));
  });

  it('signs a new person up: a verified user with a generated username, session cookies, and the events', async () => {
    const account = newLogin('newbie');
    await provider.setAccount(account, { email: `${account}@idp.test`, email_verified: true, name: 'New Bie', preferred_username: `New.Bie_${account}` });
    const response = await signIn('oidc', account);
    expect(response.status).toBe(302);
    expect(response.headers.location).toBe(`${UI}/signed-in`);
    const cookies = cookiesOf(response);
    expect(cookies.access_token.attributes).toMatchObject({ path: '/', httponly: true, samesite: 'Lax', 'max-age': '900' });
    // The refresh cookie goes only to the session endpoints that read it (#8 finding 10).
    expect(cookies.refresh_token.attributes).toMatchObject({ path: '/oauth/session', httponly: true, samesite: 'Lax', 'max-age': String(24 * 3600) });
    expect(cookies.oauth_state.value).toBe('');

    // The access cookie reads, with no Authorization header: GET only.
    const profile = await t.http.get('/users/profile').set('Cookie', `access_token=${cookies.access_token.value}`).expect(200);
    expect(profile.body).toMatchObject({ email: `${account}@idp.test`, first_name: 'New', last_name: 'Bie', auth_provider: 'oidc', verified_at: expect.any(String) });
    expect(profile.body.credentials.username).toMatch(/^New_Bie_newbie/);
    const patch = await t.http.patch(`/users/${profile.body.id}`).set('Cookie', `access_token=${cookies.access_token.value}`).send({ first_name: 'X' });
    expect(patch.status).toBe(401);
    expect(patch.body.code).toBe('TOKEN_MISSING');
    // The cookie's token is a real access token: as a bearer token it changes things too.
    await t.http.patch(`/users/${profile.body.id}`).set(bearer(cookies.access_token.value)).send({ first_name: 'Newer' }).expect(200);

    const { rows } = await t.db.query(`SELECT operation, data FROM outbox_events WHERE user_id = $1 ORDER BY seq LIMIT 3`, [profile.body.id]);
    expect(rows.map((row) => row.operation)).toEqual(['user.create', 'user.oauth_login', 'user.issue_token']);
    expect(rows[1].data).toEqual({ provider: 'oidc', outcome: 'created' });
    expect(rows[2].data).toEqual({ session_id: expect.any(String), client: 'oauth:oidc', aal: 'aal1' });
    const validate = asyncApiValidators().get('user.oauth_login')!;
    const { rows: [event] } = await t.db.query(`SELECT id, operation, created_at, actor_id, request_id, user_id, data FROM outbox_events WHERE user_id = $1 AND operation = 'user.oauth_login'`, [profile.body.id]);
    expect(validate({ event_id: event.id, operation: event.operation, occurred_at: event.created_at.toISOString(), actor_id: event.actor_id, request_id: event.request_id, user_id: event.user_id, ...event.data })).toBe(true);
  });

  it('signs a returning person in as the same user', async () => {
    const account = newLogin('again');
    const first = await signIn('oidc', account);
    const id = (await t.http.get('/users/profile').set('Cookie', `access_token=${cookiesOf(first).access_token.value}`)).body.id;
    const second = await signIn('oidc', account);
    expect(second.status).toBe(302);
    const again = await t.http.get('/users/profile').set('Cookie', `access_token=${cookiesOf(second).access_token.value}`).expect(200);
    expect(again.body.id).toBe(id);
    expect(await lastOauthLogin(id)).toEqual({ provider: 'oidc', outcome: 'returning' });
    expect(await identityOf(id)).toEqual([{ provider: 'oidc', subject: account }]);
  });

  it('links to an existing verified account by e-mail when the provider verified the address; its password stays', async () => {
    const user = await createUser(t);
    const account = newLogin('linker');
    await provider.setAccount(account, { email: user.email.toUpperCase(), email_verified: true, name: 'Someone Else' });
    const response = await signIn('oidc', account, `?redirect_to=${encodeURIComponent('https://app.example.com/welcome?tab=1')}`);
    expect(response.status).toBe(302);
    expect(response.headers.location).toBe('https://app.example.com/welcome?tab=1');
    const profile = await t.http.get('/users/profile').set('Cookie', `access_token=${cookiesOf(response).access_token.value}`).expect(200);
    expect(profile.body).toMatchObject({ id: user.id, first_name: 'Ada', verified_at: expect.any(String) });
    expect(await lastOauthLogin(user.id)).toEqual({ provider: 'oidc', outcome: 'linked' });
    await login(t, user.email, PASSWORD);
    await t.http.post('/users/tokens/refresh').send({ refresh_token: user.refreshToken }).expect(201);
  });

  it('a user with a verified second factor gets no cookie session but the MFA challenge in the redirect; its code completes it (aal2, amr oauth + totp)', async () => {
    const user = await createUser(t);
    const enrolment = await t.http.post('/users/mfa/factors').set(bearer(user.accessToken)).send({ friendly_name: 'Phone' }).expect(201);
    const app = new Authenticator(enrolment.body.totp.secret);
    await t.http.post('/users/tokens/step-up').set(bearer(user.accessToken)).send({ factor_id: enrolment.body.factor.id, code: await app.code() }).expect(201);
    const account = newLogin('mfa');
    await provider.setAccount(account, { email: user.email, email_verified: true });
    const response = await signIn('oidc', account, `?redirect_to=${encodeURIComponent('https://app.example.com/welcome?tab=1')}`);
    expect(response.status).toBe(302);
    const location = new URL(response.headers.location);
    expect(`${location.origin}${location.pathname}`).toBe('https://app.example.com/welcome');
    expect(Object.fromEntries(location.searchParams)).toEqual({ tab: '1', mfa_required: '1' });
    const fragment = new URLSearchParams(location.hash.slice(1));
    expect(fragment.get('expires_in')).toBe('300');
    expect(cookiesOf(response).access_token).toBeUndefined();
    expect(cookiesOf(response).refresh_token).toBeUndefined();
    expect(await lastOauthLogin(user.id)).toEqual({ provider: 'oidc', outcome: 'linked' });

    const completed = await t.http.post('/users/tokens/mfa').send({ mfa_token: fragment.get('mfa_token'), code: await app.code() }).expect(201);
    expect(claimsOf(completed.body.access_token)).toMatchObject({ sub: user.id, aal: 'aal2', amr: [{ method: 'oauth' }, { method: 'totp' }] });
    await t.http.patch(`/users/${user.id}`).set(bearer(completed.body.access_token)).send({ first_name: 'Grace' }).expect(200);
  });

  describe('an unverified account with the address is taken over by its provider-verified owner (#8 finding 1)', () => {
    const unusedLinks = async (userId: string) => (await t.db.query(`SELECT purpose FROM link_tokens WHERE user_id = $1 AND used_at IS NULL ORDER BY purpose`, [userId])).rows;

    it('the squatter who registered it with a password loses the password, every session and every pending link', async () => {
      // The attacker registers the victim's address with a password of their own, logs in, asks for a reset link.
      const squatter = await createUser(t, {}, { verified: false });
      await t.http.post('/password/reset-request').send({ email: squatter.email }).expect(201);
      await t.http.get('/users/profile').set(bearer(squatter.accessToken)).expect(200);
      expect(await unusedLinks(squatter.id)).toEqual([{ purpose: 'recovery' }, { purpose: 'verification' }]);

      // The owner of the address signs in with a provider that verified it.
      const account = newLogin('owner');
      await provider.setAccount(account, { email: squatter.email, email_verified: true, name: 'Real Owner' });
      const response = await signIn('oidc', account);
      expect(response.status).toBe(302);
      const owner = cookiesOf(response);
      const profile = await t.http.get('/users/profile').set('Cookie', `access_token=${owner.access_token.value}`).expect(200);
      expect(profile.body).toMatchObject({ id: squatter.id, email: squatter.email, verified_at: expect.any(String) });

      // Nothing the squatter had works any more.
      expect((await t.http.post('/users/tokens/issue').send({ identity: squatter.email, secret: PASSWORD })).body.code).toBe('INVALID_CREDENTIALS');
      expect((await t.http.post('/users/tokens/refresh').send({ refresh_token: squatter.refreshToken })).status).toBe(401);
      const stale = await t.http.get('/users/profile').set(bearer(squatter.accessToken));
      expect({ status: stale.status, code: stale.body.code }).toEqual({ status: 401, code: 'TOKEN_REVOKED' });
      expect(await unusedLinks(squatter.id)).toEqual([]);
      expect((await t.db.query('SELECT password_hash FROM users WHERE id = $1', [squatter.id])).rows).toEqual([{ password_hash: null }]);

      // The owner's session works, refresh included; the takeover is an event of the documented shape.
      await t.http.post('/users/tokens/refresh').send({ refresh_token: owner.refresh_token.value }).expect(201);
      expect(await lastOauthLogin(squatter.id)).toEqual({ provider: 'oidc', outcome: 'taken_over' });
      const { rows: [event] } = await t.db.query(
        `SELECT id, operation, created_at, actor_id, request_id, user_id, data FROM outbox_events WHERE user_id = $1 AND operation = 'user.oauth_login'`,
        [squatter.id],
      );
      const validate = asyncApiValidators().get('user.oauth_login')!;
      expect(validate({ event_id: event.id, operation: event.operation, occurred_at: event.created_at.toISOString(), actor_id: event.actor_id, request_id: event.request_id, user_id: event.user_id, ...event.data })).toBe(true);
    });

    it('an identity the squatter attached through a provider that did not verify the address is unlinked', async () => {
      const email = `${newLogin('victim')}@example.com`;
      github.account = { id: 717171, login: 'squatter', name: null, emails: [{ email, primary: true, verified: false }] };
      expect((await githubSignIn()).status).toBe(302);
      const { rows: [squatted] } = await t.db.query('SELECT id, verified_at FROM users WHERE email = $1', [email]);
      expect(squatted.verified_at).toBeNull();
      expect(await identityOf(squatted.id)).toEqual([{ provider: 'github', subject: '717171' }]);

      const account = newLogin('owner');
      await provider.setAccount(account, { email, email_verified: true });
      expect((await signIn('oidc', account)).status).toBe(302);
      expect(await identityOf(squatted.id)).toEqual([{ provider: 'oidc', subject: account }]);
      expect(await lastOauthLogin(squatted.id)).toEqual({ provider: 'oidc', outcome: 'taken_over' });
      // The squatter's GitHub sign-in no longer reaches the account: it is the unverified address again.
      expect(errorOf(await githubSignIn())).toBe('EMAIL_NOT_VERIFIED_BY_PROVIDER');
    });
  });

  it('refuses to link an address the provider has not verified', async () => {
    const user = await createUser(t);
    const account = newLogin('squatter');
    await provider.setAccount(account, { email: user.email, email_verified: false });
    const response = await signIn('oidc', account);
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe(`${UI}/error?error=EMAIL_NOT_VERIFIED_BY_PROVIDER`);
    expect(cookiesOf(response).access_token).toBeUndefined();
    expect(await identityOf(user.id)).toEqual([]);
  });

  it('creates an unverified user for a new address the provider has not verified', async () => {
    const account = newLogin('unsure');
    await provider.setAccount(account, { email: `${account}@idp.test`, email_verified: false });
    const response = await signIn('oidc', account);
    expect(response.status).toBe(302);
    const { rows } = await t.db.query(`SELECT verified_at, auth_provider FROM users WHERE email = $1`, [`${account}@idp.test`]);
    expect(rows).toEqual([{ verified_at: null, auth_provider: 'oidc' }]);
  });

  it('signs in through Google (an OpenID Connect issuer) the same way', async () => {
    const account = newLogin('googler');
    const response = await signIn('google', account);
    expect(response.status).toBe(302);
    const profile = await t.http.get('/users/profile').set('Cookie', `access_token=${cookiesOf(response).access_token.value}`).expect(200);
    expect(profile.body.auth_provider).toBe('google');
  });

  describe('GitHub', () => {
    it('takes the primary verified address from /user/emails', async () => {
      github.account = {
        id: 424242,
        login: 'octo-cat',
        name: 'Octo Cat',
        emails: [
          { email: 'octo.secondary@example.com', primary: false, verified: true },
          { email: `octo.${Date.now()}@example.com`, primary: true, verified: true },
        ],
      };
      const response = await githubSignIn();
      expect(response.status).toBe(302);
      const profile = await t.http.get('/users/profile').set('Cookie', `access_token=${cookiesOf(response).access_token.value}`).expect(200);
      expect(profile.body).toMatchObject({ email: github.account.emails[1].email, first_name: 'Octo', last_name: 'Cat', auth_provider: 'github', credentials: { username: 'octo-cat' } });
      expect(profile.body.verified_at).not.toBeNull();
      expect(await identityOf(profile.body.id)).toEqual([{ provider: 'github', subject: '424242' }]);
    });

    it('refuses to link an existing account through an unverified primary address, and a person without one', async () => {
      const user = await createUser(t);
      github.account = { id: 515151, login: 'sneaky', name: null, emails: [{ email: user.email, primary: true, verified: false }] };
      expect(errorOf(await githubSignIn())).toBe('EMAIL_NOT_VERIFIED_BY_PROVIDER');
      github.account = { id: 616161, login: 'noemail', name: null, emails: [] };
      expect(errorOf(await githubSignIn())).toBe('EMAIL_MISSING');
    });
  });

  describe('failures: a 303 to OAUTH_UI_ERROR_URL with the reason, never a 500', () => {
    it('state that does not match the cookie, or no cookie', async () => {
      const { location, state } = await authorize('oidc');
      const back = await provider.signIn(location, newLogin('mismatch'));
      const forged = new URL(back);
      forged.searchParams.set('state', 'A'.repeat(43));
      expect(errorOf(await callback(forged, state.value))).toBe('STATE_MISMATCH');
      expect(errorOf(await callback(back))).toBe('STATE_MISSING');
      expect(errorOf(await callback(back, 'not-a-sealed-cookie'))).toBe('STATE_MISMATCH');
      const other = await authorize('oidc');
      expect(errorOf(await callback(back, other.state.value))).toBe('STATE_MISMATCH');
    });

    it('a state spent once cannot be replayed', async () => {
      const { location, state } = await authorize('oidc');
      const back = await provider.signIn(location, newLogin('replay'));
      expect((await callback(back, state.value)).status).toBe(302);
      const replay = await callback(back, state.value);
      expect(replay.status).toBe(303);
      expect(errorOf(replay)).toBe('STATE_REPLAYED');
    });

    it('the PKCE verifier is checked by the provider: a code issued for another challenge is refused', async () => {
      const { location, state } = await authorize('oidc');
      const tampered = new URL(location);
      tampered.searchParams.set('code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
      const back = await provider.signIn(tampered.toString(), newLogin('pkce'));
      expect(back.searchParams.get('code')).toBeTruthy();
      expect(errorOf(await callback(back, state.value))).toBe('TOKEN_EXCHANGE_FAILED');
    });

    it('the provider reports access_denied or another error, or sends no code', async () => {
      const { location, state } = await authorize('oidc');
      const stateParam = new URL(location).searchParams.get('state')!;
      const back = (query: string) => new URL(`${CALLBACK('oidc')}?${query}&state=${stateParam}`);
      expect(errorOf(await callback(back('error=access_denied&error_description=no'), state.value))).toBe('ACCESS_DENIED');
      expect(errorOf(await callback(back('error=server_error'), state.value))).toBe('PROVIDER_ERROR');
      expect(errorOf(await callback(back('foo=bar'), state.value))).toBe('MISSING_CODE');
      expect(errorOf(await callback(new URL(CALLBACK('oidc')), state.value))).toBe('MISSING_CODE');
    });

    it('a state older than 10 minutes', async () => {
      const { location, state } = await authorize('oidc');
      const back = await provider.signIn(location, newLogin('late'));
      // The app runs in this process: its clock moves on past the state's lifetime, no waiting.
      const clock = jest.spyOn(Date, 'now').mockReturnValue(Date.now() + STATE_TTL_MS + 1000);
      try {
        expect(errorOf(await callback(back, state.value))).toBe('STATE_EXPIRED');
      } finally {
        clock.mockRestore();
      }
    });

    it('the provider’s API fails while we read the profile (GitHub’s /user)', async () => {
      github.account = { id: 717171, login: 'outage', name: null, emails: [{ email: `outage.${Date.now()}@example.com`, primary: true, verified: true }] };
      github.apiDown = true;
      try {
        expect(errorOf(await githubSignIn())).toBe('PROFILE_FAILED');
      } finally {
        github.apiDown = false;
      }
      expect(await t.db.query('SELECT 1 FROM users WHERE email = $1', [github.account.emails[0].email])).toMatchObject({ rowCount: 0 });
    });

    it('the provider’s userinfo endpoint fails while we read the profile (OpenID Connect)', async () => {
      const account = newLogin('blackout');
      await provider.setAccount(account, { email: `${account}@idp.test`, email_verified: true });
      await provider.setUserinfoStatus(503);
      try {
        expect(errorOf(await signIn('oidc', account))).toBe('PROFILE_FAILED');
      } finally {
        await provider.setUserinfoStatus(0);
      }
      expect(await t.db.query('SELECT 1 FROM users WHERE email = $1', [`${account}@idp.test`])).toMatchObject({ rowCount: 0 });
      // The same person gets in once the provider is back.
      expect((await signIn('oidc', account)).status).toBe(302);
    });

    it('a code the provider does not know', async () => {
      const { location, state } = await authorize('oidc');
      const stateParam = new URL(location).searchParams.get('state')!;
      expect(errorOf(await callback(new URL(`${CALLBACK('oidc')}?code=made-up&state=${stateParam}`), state.value))).toBe('TOKEN_EXCHANGE_FAILED');
    });

    it('a disabled user', async () => {
      const account = newLogin('disabled');
      const first = await signIn('oidc', account);
      const id = (await t.http.get('/users/profile').set('Cookie', `access_token=${cookiesOf(first).access_token.value}`)).body.id;
      await t.http.post(`/users/${id}/disable`).set(bearer(await loginAdmin(t))).expect(200);
      expect(errorOf(await signIn('oidc', account))).toBe('ACCOUNT_DISABLED');
    });

    it('an unknown or disabled provider, and a redirect_to off the allowed origins (no open redirect)', async () => {
      expect(errorOf((await authorize('facebook')).response)).toBe('PROVIDER_DISABLED');
      expect(errorOf(await t.http.get('/oauth/callback/facebook?code=x&state=y'))).toBe('PROVIDER_DISABLED');
      for (const target of ['https://evil.example.com/', 'javascript:alert(1)', '//evil.example.com', `${UI}@evil.example.com/`, 'https://app.example.com.evil.com/', '/relative']) {
        const { response } = await authorize('oidc', `?redirect_to=${encodeURIComponent(target)}`);
        expect({ target, status: response.status, error: errorOf(response) }).toEqual({ target, status: 303, error: 'REDIRECT_NOT_ALLOWED' });
      }
      expect((await authorize('oidc', `?redirect_to=${encodeURIComponent(`${UI}/deep/page?x=1`)}`)).response.status).toBe(302);
    });
  });

  describe('the cookie session of a UI page', () => {
    it('renews and ends the session only for a page of an allowed origin', async () => {
      const response = await signIn('oidc', newLogin('session'));
      const { access_token: access, refresh_token: refresh } = cookiesOf(response);
      const cookie = `access_token=${access.value}; refresh_token=${refresh.value}`;

      const foreign = await t.http.post('/oauth/session/refresh').set('Cookie', cookie).set('Origin', 'https://evil.example.com');
      expect(foreign.status).toBe(403);
      expect((await t.http.post('/oauth/session/refresh').set('Cookie', cookie)).status).toBe(403);

      const renewed = await t.http.post('/oauth/session/refresh').set('Cookie', cookie).set('Origin', UI).expect(204);
      const next = cookiesOf(renewed);
      expect(next.refresh_token.value).not.toBe(refresh.value);
      expect(next.refresh_token.attributes.path).toBe('/oauth/session');
      await t.http.get('/users/profile').set('Cookie', `access_token=${next.access_token.value}`).expect(200);

      const out = await t.http.post('/oauth/session/logout').set('Cookie', `refresh_token=${next.refresh_token.value}`).set('Origin', UI).expect(204);
      expect(cookiesOf(out).access_token).toMatchObject({ value: '', attributes: { path: '/' } });
      expect(cookiesOf(out).refresh_token).toMatchObject({ value: '', attributes: { path: '/oauth/session' } });
      const spent = await t.http.post('/users/tokens/refresh').send({ refresh_token: next.refresh_token.value });
      expect(spent.status).toBe(401);
    });

    it('answers CORS preflights of allowed origins, with credentials, and no other', async () => {
      const allowed = await t.http.options('/users/profile').set('Origin', UI).set('Access-Control-Request-Method', 'GET');
      expect(allowed.status).toBe(204);
      expect(allowed.headers['access-control-allow-origin']).toBe(UI);
      expect(allowed.headers['access-control-allow-credentials']).toBe('true');
      const refused = await t.http.options('/users/profile').set('Origin', 'https://evil.example.com').set('Access-Control-Request-Method', 'GET');
      expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    });
  });
});

describe('OAuth with self-registration off (USERS_ALLOW_SELF_REGISTER=false)', () => {
  const github = new GithubDouble(GITHUB_CLIENT);
  let t: TestApp;
  beforeAll(async () => {
    await github.start();
    t = await startTestApp({
      env: {
        USERS_ALLOW_SELF_REGISTER: 'false',
        ...githubEnv(github),
      },
    });
  });
  afterAll(async () => {
    await t.close();
    await github.stop();
  });

  const signIn = async () => {
    const authorized = await t.http.get('/oauth/authorize/github').expect(302);
    const back = new URL((await fetch(authorized.headers.location, { redirect: 'manual' })).headers.get('location')!);
    return t.http.get(`${back.pathname}${back.search}`).set('Cookie', `oauth_state=${cookiesOf(authorized).oauth_state.value}`);
  };

  it('refuses a first provider sign-in of a new person, and still signs in one who has an account', async () => {
    const stranger = `stranger.${Date.now()}@example.com`;
    github.account = { id: 818181, login: 'stranger', name: null, emails: [{ email: stranger, primary: true, verified: true }] };
    expect(errorOf(await signIn())).toBe('SELF_REGISTER_DISABLED');
    expect(await t.db.query('SELECT 1 FROM users WHERE email = $1', [stranger])).toMatchObject({ rowCount: 0 });

    const admin = await loginAdmin(t);
    const member = `member.${Date.now()}@example.com`;
    const invited = await t.http.post('/users/invite').set(bearer(admin)).send({ email: member }).expect(201);
    github.account = { id: 828282, login: 'member', name: null, emails: [{ email: member, primary: true, verified: true }] };
    const signedIn = await signIn();
    expect(signedIn.status).toBe(302);
    expect(await t.db.query('SELECT user_id FROM user_identities WHERE provider = $1 AND subject = $2', ['github', '828282'])).toMatchObject({ rows: [{ user_id: invited.body.id }] });
  });
});

describe('OAuth with no provider configured', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('lists none, and sends a sign-in attempt to the error page', async () => {
    expect((await t.http.get('/oauth/providers').expect(200)).body.providers).toEqual([]);
    const response = await t.http.get('/oauth/authorize/google').expect(303);
    expect(response.headers.location).toBe('http://localhost:9095/error?error=PROVIDER_DISABLED');
  });
});
