/**
 * A person in a browser (Debian's Chromium, driven by playwright-core) signs in through the example
 * frontend (examples/frontend), at a real OpenID Connect provider's login page, lands back signed in,
 * sees their profile, and signs out. Screenshots go to test-output/browser/.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AuthChangeEvent, GoTrueClient, Provider } from '@supabase/auth-js';
import { Browser, Page } from 'playwright-core';
import { BrowserSetup, LoopbackApp, startBrowserSetup } from './support/loopback-app';
import { OidcProvider } from './support/oauth-providers';
import { SmtpSink, linkIn } from './support/smtp-sink';
import { StaticServer, serveFolder, serveSite } from './support/static-server';
import { TestApp } from './support/test-app';
import { bearer, createUser, login, loginAdmin } from './support/users';

const OUTPUT = join(__dirname, '..', 'test-output', 'browser');
const FRONTEND = join(__dirname, '..', 'examples', 'frontend');

beforeAll(() => mkdirSync(OUTPUT, { recursive: true }));

describe('signing in from the example frontend in Chromium', () => {
  let setup: BrowserSetup;
  let provider: OidcProvider;
  let ui: StaticServer;
  let api: string;
  let browser: Browser;

  beforeAll(async () => {
    setup = await startBrowserSetup(
      () => serveFolder(FRONTEND),
      (site) => ({
        oidc: { client_id: 'example-frontend', client_secret: 'example-frontend-secret' },
        env: { OIDC_DISPLAY_NAME: 'Test IdP', OAUTH_UI_REDIRECT_URL: `${site}/index.html`, OAUTH_UI_ERROR_URL: `${site}/index.html` },
      }),
    );
    ({ site: ui, browser } = setup);
    ({ api, oidc: provider } = setup.app);
  }, 60_000);
  afterAll(async () => setup?.close());

  it('clicks "Sign in with Test IdP", signs in at the provider, sees the profile, and signs out', async () => {
    const account = `browser${Date.now().toString(36)}`;
    await provider.setAccount(account, { email: `${account}@idp.test`, email_verified: true, name: 'Grace Browser' });
    const page = await browser.newPage();
    await page.goto(`${ui.url}/index.html?api=${encodeURIComponent(api)}`);

    await page.getByRole('link', { name: 'Sign in with Test IdP' }).click();
    await page.waitForURL(`${provider.issuer}/interaction/**`);
    await page.locator('input[name="login"]').fill(account);
    await page.locator('input[name="password"]').fill('anything');
    await page.screenshot({ path: join(OUTPUT, '1-provider-login.png') });
    await page.locator('button[type="submit"]').click();

    await page.waitForURL(`${ui.url}/index.html**`);
    const profile = page.locator('#profile');
    await profile.getByText(`${account}@idp.test`).waitFor();
    expect(await profile.innerText()).toContain('Grace Browser');
    expect(await profile.innerText()).toContain('oidc');
    await page.screenshot({ path: join(OUTPUT, '2-signed-in.png') });

    // The session is in HttpOnly cookies of the service: the page's script cannot read them.
    expect(await page.evaluate('document.cookie')).toBe('');
    // The refresh cookie goes only to the session endpoints (#8 finding 10), not with every request.
    const session = `${api}/oauth/session/refresh`;
    expect((await page.context().cookies(api)).map((c) => c.name)).not.toContain('refresh_token');
    const cookies = await page.context().cookies(session);
    const sessionCookies = cookies.filter((c) => ['access_token', 'refresh_token'].includes(c.name)).sort((a, b) => a.name.localeCompare(b.name));
    expect(sessionCookies.map((c) => [c.name, c.httpOnly, c.sameSite, c.path])).toEqual([
      ['access_token', true, 'Lax', '/'],
      ['refresh_token', true, 'Lax', '/oauth/session'],
    ]);

    // Once the access cookie is gone (expired), the page renews the session with the refresh cookie.
    await page.context().clearCookies({ name: 'access_token' });
    const renewed = page.waitForResponse((response) => response.url() === session && response.status() === 204);
    await page.reload();
    await renewed;
    await profile.getByText(`${account}@idp.test`).waitFor();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('link', { name: 'Sign in with Test IdP' }).waitFor();
    await page.screenshot({ path: join(OUTPUT, '3-signed-out.png') });
    expect((await page.context().cookies(session)).filter((c) => c.name === 'refresh_token')).toEqual([]);
    await page.close();
  });
});

describe('the password pages of the example frontend in Chromium (the links of reset and invitation mails)', () => {
  let setup: BrowserSetup;
  let smtp: SmtpSink;
  let t: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    setup = await startBrowserSetup(
      () => serveFolder(FRONTEND),
      (site) => ({
        smtp: true,
        env: (api) => ({
          // As docker-compose.yml points them, plus where this service is.
          PASSWORD_RESET_URL_PREFIX: `${site}/reset-password.html?api=${encodeURIComponent(api)}`,
          INVITE_URL_PREFIX: `${site}/set-password.html?api=${encodeURIComponent(api)}`,
          OAUTH_UI_REDIRECT_URL: `${site}/index.html`,
        }),
      }),
    );
    ({ browser } = setup);
    ({ t, smtp } = setup.app);
  }, 60_000);
  afterAll(async () => setup?.close());

  async function choosePassword(link: URL, password: string, screenshot: string) {
    const page = await browser.newPage();
    await page.goto(link.toString());
    await page.getByLabel('New password').fill(password);
    await page.getByLabel('Repeat it').fill(password);
    await page.getByRole('button', { name: 'Save the password' }).click();
    const outcome = await Promise.race([
      page.getByRole('status').waitFor().then(() => 'done'),
      page.getByRole('alert').waitFor().then(async () => `error: ${await page.getByRole('alert').innerText()}`),
    ]);
    await page.screenshot({ path: join(OUTPUT, screenshot) });
    await page.close();
    return outcome;
  }

  it('a password reset: the mailed link opens reset-password.html, which sets the new password; the link then says it was used', async () => {
    const user = await createUser(t);
    await t.http.post('/password/reset-request').send({ email: user.email }).expect(201);
    // Registration mailed a verification link first; the reset link comes with the second mail.
    const links = [linkIn(await smtp.waitFor(user.email, 1)), linkIn(await smtp.waitFor(user.email, 2))];
    const link = links.find((candidate) => candidate.pathname === '/reset-password.html')!;
    expect(link).toBeDefined();
    expect(await choosePassword(link, 'reset-in-the-browser', '4-reset-password.png')).toBe('done');
    await login(t, user.email, 'reset-in-the-browser');
    expect(await choosePassword(link, 'once-more-please', '5-reset-link-used.png')).toMatch(/^error: This link (was already used|is not valid)/);
  });

  it('an invitation: the mailed link opens set-password.html; the invitee then signs in', async () => {
    const email = `browser.invite.${Date.now()}@example.com`;
    await t.http.post('/users/invite').set(bearer(await loginAdmin(t))).send({ email }).expect(201);
    const link = linkIn(await smtp.waitFor(email));
    expect(link.pathname).toBe('/set-password.html');
    expect(await choosePassword(link, 'invited-in-the-browser', '6-set-password.png')).toBe('done');
    await login(t, email, 'invited-in-the-browser');
  });
});

/**
 * A page of a site of its own loads @supabase/auth-js as published (its ESM build from node_modules,
 * no bundler, no CDN) and signs in with signInWithOAuth as a Supabase frontend does: the browser goes
 * to /auth/v1/authorize, signs in at the OpenID Connect provider, comes back through our callback to
 * the page, and auth-js (detectSessionInUrl) takes the session from the URL.
 */
const AUTH_JS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>auth-js</title>
<script type="importmap">{ "imports": { "tslib": "/modules/tslib/tslib.es6.mjs" } }</script>
<script type="module">
  import { GoTrueClient } from '/modules/auth-js/index.js';
  // Where the API is and which flow: in the query, which the redirect back keeps (PKCE adds ?code=, implicit the #fragment).
  const params = new URLSearchParams(location.search);
  const events = [];
  const client = new GoTrueClient({ url: params.get('api') + '/auth/v1', flowType: params.get('flow'), storageKey: 'test-auth', detectSessionInUrl: true, autoRefreshToken: false, persistSession: true });
  client.onAuthStateChange((event, session) => events.push({ event, email: session?.user?.email ?? null }));
  Object.assign(window, { authClient: client, authEvents: events });
</script></head><body><h1>auth-js</h1></body></html>`;

describe('signInWithOAuth of @supabase/auth-js in Chromium, against oidc-provider (the GoTrue API)', () => {
  let setup: BrowserSetup;
  let app: LoopbackApp;
  let site: StaticServer;
  let browser: Browser;

  /** The page's globals (what its script put there, and the address bar). */
  type AuthWindow = { authClient: GoTrueClient; authEvents: { event: AuthChangeEvent; email: string | null }[]; location: { href: string } };

  beforeAll(async () => {
    const authJs = dirname(require.resolve('@supabase/auth-js/dist/module/index.js'));
    const tslib = dirname(require.resolve('tslib/package.json'));
    setup = await startBrowserSetup(
      () => serveSite({ '/app.html': AUTH_JS_PAGE }, { 'auth-js': authJs, tslib }),
      (url) => ({
        oidc: { client_id: 'auth-js-site', client_secret: 'auth-js-site-secret' },
        // The site: where the GoTrue API may send the browser back (SITE_URL), and the origin its calls come from (CORS).
        env: { SITE_URL: `${url}/`, OAUTH_UI_REDIRECT_URL: `${url}/app.html` },
      }),
    );
    ({ app, site, browser } = setup);
  }, 60_000);
  afterAll(async () => setup?.close());

  /** Signs in as a new account through the page with `flow`; the page back on the site, once auth-js reported SIGNED_IN. */
  async function signIn(flow: 'pkce' | 'implicit') {
    const account = `authjs${flow}${Date.now().toString(36)}`;
    await app.oidc.setAccount(account, { email: `${account}@idp.test`, email_verified: true, name: 'Grace Browser' });
    const page = await (await browser.newContext()).newPage();
    const failures: string[] = [];
    page.on('pageerror', (error) => failures.push(error.message));
    page.on('requestfailed', (request) => failures.push(`${request.url()}: ${request.failure()?.errorText}`));
    page.on('console', (message) => void (message.type() === 'error' && failures.push(message.text())));
    page.on('response', (response) => void (response.status() >= 400 && failures.push(`${response.status()} ${response.url()}`)));
    /** Waits for the page to get there, or says what went wrong in it. */
    const until = (condition: () => boolean) =>
      page.waitForFunction(condition, undefined, { timeout: 20_000 }).catch((error: Error) => {
        throw new Error(`${error.message}; in the page: ${failures.join(' | ') || 'no error'}`);
      });
    const home = `${site.url}/app.html?${new URLSearchParams({ api: app.api, flow })}`;
    await page.goto(home);
    await until(() => 'authClient' in globalThis);

    const authorize = page.waitForRequest((request) => request.url().startsWith(`${app.api}/auth/v1/authorize?`));
    await page.evaluate((redirectTo) => void (globalThis as unknown as AuthWindow).authClient.signInWithOAuth({ provider: 'oidc' as Provider, options: { redirectTo } }), home);
    const started = new URL((await authorize).url());
    await page.waitForURL(`${app.oidc.issuer}/interaction/**`);
    await page.locator('input[name="login"]').fill(account);
    await page.locator('input[name="password"]').fill('anything');
    await page.locator('button[type="submit"]').click();

    await page.waitForURL(`${site.url}/app.html**`);
    const landed = new URL(page.url());
    await until(() => (globalThis as unknown as AuthWindow).authEvents.some(({ event }) => event === 'SIGNED_IN'));
    await page.screenshot({ path: join(OUTPUT, `7-auth-js-${flow}.png`) });
    return { page, account, started, landed, failures };
  }

  /** What auth-js holds in the page: its events, its session, and the user as GET /user answers it. */
  async function clientState(page: Page) {
    return page.evaluate(async () => {
      const { authClient, authEvents, location } = globalThis as unknown as AuthWindow;
      const { data: session } = await authClient.getSession();
      const { data: user, error } = await authClient.getUser();
      return { events: authEvents, session: session.session, user: user.user, error: error?.message ?? null, url: location.href };
    });
  }

  it('PKCE: signInWithOAuth sends a code challenge, the browser comes back with ?code=, auth-js exchanges it (grant_type=pkce): SIGNED_IN, the session and the user', async () => {
    const { page, account, started, landed } = await signIn('pkce');
    expect(started.searchParams.get('provider')).toBe('oidc');
    expect(started.searchParams.get('code_challenge_method')).toBe('s256');
    expect(started.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(landed.searchParams.get('code')).toEqual(expect.any(String));

    const state = await clientState(page);
    expect(state.error).toBeNull();
    expect(state.events).toContainEqual({ event: 'SIGNED_IN', email: `${account}@idp.test` });
    expect(state.session).toMatchObject({ token_type: 'bearer', access_token: expect.any(String), refresh_token: expect.any(String), user: { email: `${account}@idp.test` } });
    expect(state.user).toMatchObject({ email: `${account}@idp.test`, email_confirmed_at: expect.any(String), app_metadata: { provider: 'oidc', providers: ['oidc'] } });
    expect(state.user?.identities?.map((identity) => identity.provider)).toEqual(['oidc']);
    // auth-js took the code out of the address bar once spent.
    expect(new URL(state.url).searchParams.has('code')).toBe(false);
    // The session is ours: its access token works on our own API.
    const profile = await fetch(`${app.api}/users/profile`, { headers: bearer(state.session?.access_token as string) });
    expect(profile.status).toBe(200);
    await page.close();
  });

  it('implicit: the session comes back in the fragment; auth-js takes it (SIGNED_IN) and clears the address', async () => {
    const { page, account, started, landed } = await signIn('implicit');
    expect(started.searchParams.has('code_challenge')).toBe(false);
    expect(landed.searchParams.has('code')).toBe(false);

    const state = await clientState(page);
    expect(state.error).toBeNull();
    expect(state.events).toContainEqual({ event: 'SIGNED_IN', email: `${account}@idp.test` });
    expect(state.session).toMatchObject({ token_type: 'bearer', user: { email: `${account}@idp.test` } });
    expect(new URL(state.url).hash).toBe('');
    await page.close();
  });
});
