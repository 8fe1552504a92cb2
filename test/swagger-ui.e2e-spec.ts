/**
 * Swagger UI at /docs, in Debian's Chromium (driven by playwright-core), used as its description tells
 * a person to: log in with POST /users/tokens/issue, paste the tokens into the Authorize dialog, call
 * operations, reload (the authorization persists). Screenshots go to test-output/swagger-ui/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, Locator, Page, chromium } from 'playwright-core';
import { freePort } from './support/built-app';
import { ADMIN, TestApp, startTestApp } from './support/test-app';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const OUTPUT = join(__dirname, '..', 'test-output', 'swagger-ui');

describe('Swagger UI in Chromium', () => {
  let t: TestApp;
  let api: string;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(OUTPUT, { recursive: true });
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    // Swagger UI sends its calls to the document's server: this service's public URL.
    t = await startTestApp({ port, env: { USERS_PUBLIC_URL: api } });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    console.log(`Swagger UI screenshots: ${OUTPUT}`);
  });

  /** A screenshot of the page's viewport, or of one element (an operation's block). */
  const shot = (name: string, of: Page | Locator = page) => of.screenshot({ path: join(OUTPUT, name) });

  /** An operation's block, by the ids Swagger UI gives them: `operations-<tag>-<operationId>`. */
  const operation = (tag: string, operationId: string) => page.locator(`#operations-${tag}-${operationId}`);

  /** Expands an operation, presses "Try it out" (with `body` as its request body) and "Execute"; answers the live response. */
  async function execute(block: Locator, body?: object): Promise<{ status: number; json: Record<string, unknown>; duration: string }> {
    if (!(await block.locator('.opblock-body').isVisible())) await block.locator('.opblock-summary').first().click();
    await block.locator('button.try-out__btn').click();
    if (body) await block.locator('textarea.body-param__text').fill(JSON.stringify(body));
    await block.locator('button.execute').click();
    const live = block.locator('.live-responses-table .response');
    await live.waitFor();
    const status = Number((await live.locator('.response-col_status').innerText()).trim());
    const text = (await live.locator('.response-col_description pre').first().innerText()).trim();
    const duration = (await block.locator('h5:has-text("Request duration") + pre').innerText()).trim();
    return { status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {}, duration };
  }

  /** Fills schemes of the Authorize dialog (bearerAuth, refreshAuth, …) with tokens, and authorizes them. */
  async function authorize(tokens: Record<string, string>) {
    await page.locator('.scheme-container button.authorize').click();
    const dialog = page.locator('.dialog-ux .modal-ux');
    await dialog.waitFor();
    expect(await dialog.locator('.auth-container h4').allInnerTexts()).toEqual(expect.arrayContaining([expect.stringContaining('bearerAuth'), expect.stringContaining('refreshAuth')]));
    const container = (scheme: string) => dialog.locator('.auth-container').filter({ has: page.locator('h4', { hasText: scheme }) });
    for (const [scheme, token] of Object.entries(tokens)) await container(scheme).locator('input').fill(token);
    await shot('3a-authorize-dialog.png');
    // Each scheme has its own form and Authorize button (its name, for a screen reader: "Apply credentials").
    for (const scheme of Object.keys(tokens)) {
      await container(scheme).locator('button.modal-btn.authorize').click();
      await container(scheme).locator('h6', { hasText: 'Authorized' }).waitFor();
    }
    await shot('3b-authorized.png');
    await dialog.locator('button.btn-done').first().click();
  }

  it('shows the document: its title, how to log in, the tags in order, both token schemes', async () => {
    await page.goto(`${api}/docs`);
    await page.locator('.info .title').getByText('Users service').waitFor();
    expect(await page.title()).toBe('Users service API');
    expect(await page.locator('.info .description').innerText()).toContain('Logging in on this page');
    expect(await page.locator('.opblock-tag').allInnerTexts()).toEqual([
      expect.stringMatching(/^users/),
      expect.stringMatching(/^tokens/),
      expect.stringMatching(/^mfa/),
      expect.stringMatching(/^e-mail/),
      expect.stringMatching(/^oauth/),
      expect.stringMatching(/^gotrue/),
      expect.stringMatching(/^health/),
    ]);
    await shot('1-page.png');
  });

  it('logs in with issueToken, authorizes both tokens in the dialog, and calls getProfile, listUsers and refreshToken with them', async () => {
    const login = await execute(operation('tokens', 'issueToken'), { identity: ADMIN.email, secret: ADMIN.password });
    expect(login.status).toBe(201);
    await shot('2-issue-token.png', operation('tokens', 'issueToken'));
    await authorize({ bearerAuth: String(login.json.access_token), refreshAuth: String(login.json.refresh_token) });

    const profile = await execute(operation('users', 'getProfile'));
    expect(profile).toMatchObject({ status: 200, json: { email: ADMIN.email, role: 'admin' } });
    expect(profile.duration).toMatch(/\d+ ms/);
    await shot('4-get-profile.png', operation('users', 'getProfile'));

    const list = await execute(operation('users', 'listUsers'));
    expect(list.status).toBe(200);
    expect(list.json.users).toEqual(expect.arrayContaining([expect.objectContaining({ email: ADMIN.email })]));
    await shot('5-list-users.png', operation('users', 'listUsers'));

    const refreshed = await execute(operation('tokens', 'refreshToken'));
    expect(refreshed.status).toBe(201);
    expect(refreshed.json.refresh_token).not.toBe(login.json.refresh_token);
    await shot('6-refresh-token.png', operation('tokens', 'refreshToken'));
  });

  it('keeps the authorization across a reload (persistAuthorization)', async () => {
    await page.reload();
    await page.locator('.scheme-container button.authorize.locked').waitFor();
    const profile = await execute(operation('users', 'getProfile'));
    expect(profile).toMatchObject({ status: 200, json: { email: ADMIN.email } });
    await shot('7-after-reload.png', operation('users', 'getProfile'));
  });
});
