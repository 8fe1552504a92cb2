/**
 * A person in a browser (Debian's Chromium, driven by playwright-core) signs in through the example
 * frontend (examples/frontend), at a real OpenID Connect provider's login page, lands back signed in,
 * sees their profile, and signs out. Screenshots go to test-output/browser/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, chromium } from 'playwright-core';
import { freePort } from './support/built-app';
import { OidcProvider } from './support/oauth-providers';
import { SmtpSink, linkIn } from './support/smtp-sink';
import { serveFolder } from './support/static-server';
import { TestApp, startTestApp } from './support/test-app';
import { bearer, createUser, login, loginAdmin } from './support/users';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUTPUT = join(__dirname, '..', 'test-output', 'browser');

describe('signing in from the example frontend in Chromium', () => {
  const provider = new OidcProvider();
  let ui: Awaited<ReturnType<typeof serveFolder>>;
  let t: TestApp;
  let api: string;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(OUTPUT, { recursive: true });
    ui = await serveFolder(join(__dirname, '..', 'examples', 'frontend'));
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    const client = { client_id: 'example-frontend', client_secret: 'example-frontend-secret', redirect_uris: [`${api}/oauth/callback/oidc`] };
    await provider.start([client]);
    t = await startTestApp({
      port,
      env: {
        OIDC_ISSUER_URL: provider.issuer,
        OIDC_CLIENT_ID: client.client_id,
        OIDC_CLIENT_SECRET: client.client_secret,
        OIDC_REDIRECT_URL: client.redirect_uris[0],
        OIDC_DISPLAY_NAME: 'Test IdP',
        OAUTH_UI_REDIRECT_URL: `${ui.url}/index.html`,
        OAUTH_UI_ERROR_URL: `${ui.url}/index.html`,
      },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    provider.stop();
    await ui?.close();
  });

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
  const smtp = new SmtpSink();
  let ui: Awaited<ReturnType<typeof serveFolder>>;
  let t: TestApp;
  let api: string;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(OUTPUT, { recursive: true });
    await smtp.start();
    ui = await serveFolder(join(__dirname, '..', 'examples', 'frontend'));
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    t = await startTestApp({
      port,
      env: {
        EMAIL_HOST: '127.0.0.1',
        EMAIL_PORT: String(smtp.port),
        // As docker-compose.yml points them, plus where this service is.
        PASSWORD_RESET_URL_PREFIX: `${ui.url}/reset-password.html?api=${encodeURIComponent(api)}`,
        INVITE_URL_PREFIX: `${ui.url}/set-password.html?api=${encodeURIComponent(api)}`,
        OAUTH_UI_REDIRECT_URL: `${ui.url}/index.html`,
      },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await ui?.close();
    await smtp.stop();
  });

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
