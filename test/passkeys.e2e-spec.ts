/**
 * Passkeys (#16, WebAuthn) in Chromium with the DevTools protocol's virtual authenticator (CTAP2,
 * internal, resident keys, user verification): on the example frontend's passkeys page a user adds a
 * passkey while signed in, signs out, signs in with it without a password (aal2, amr webauthn), and
 * answers a password login's MFA challenge with it. Then, with assertions made by the same
 * authenticator and sent from here: step-up, and the refusals (a replayed or expired challenge, an
 * unknown credential, a wrong origin, a signature counter that did not go up). Every event recorded
 * is checked against asyncapi.yaml.
 */
import { join } from 'node:path';
import { Browser, CDPSession, Page } from 'playwright-core';
import { BrowserSetup, startBrowserSetup } from './support/loopback-app';
import { expectOutboxRowsMatchAsyncApi } from './support/nats';
import { serveFolder } from './support/static-server';
import { TestApp } from './support/test-app';
import { claimsOf } from './support/totp';
import { TestUser, bearer, createUser } from './support/users';

const FRONTEND = join(__dirname, '..', 'examples', 'frontend');

describe('passkeys in Chromium with a virtual authenticator', () => {
  let setup: BrowserSetup;
  let t: TestApp;
  let api: string;
  let browser: Browser;
  let page: Page;
  let cdp: CDPSession;
  let authenticatorId: string;
  let user: TestUser;
  // The page's origin: WebAuthn wants a domain as RP id, so the site is opened as localhost (loopback all the same).
  let origin: string;

  beforeAll(async () => {
    setup = await startBrowserSetup(
      () => serveFolder(FRONTEND),
      (site) => {
        origin = site.replace('127.0.0.1', 'localhost');
        return { env: { USERS_WEBAUTHN_RP_ID: 'localhost', USERS_WEBAUTHN_RP_NAME: 'Users e2e', USERS_WEBAUTHN_ORIGINS: origin, OAUTH_ALLOWED_REDIRECT_ORIGINS: origin } };
      },
    );
    ({ browser } = setup);
    ({ t, api } = setup.app);
    user = await createUser(t);
    page = await browser.newPage();
    cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    }));
    await page.goto(`${origin}/passkeys.html?api=${encodeURIComponent(api)}`);
  }, 60_000);
  afterAll(async () => setup?.close());

  const profile = () => page.locator('#profile');
  const pageToken = () => page.evaluate<string>(`sessionStorage.getItem('access_token')`);
  /** An assertion of the virtual authenticator for these request options (navigator.credentials.get, as JSON). */
  // (a string: the tests are compiled without the DOM's types)
  const assertion = (options: unknown) =>
    page.evaluate<Record<string, unknown> & { rawId: string; id: string; response: { clientDataJSON: string } }>(
      `navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(${JSON.stringify(options)}) }).then((credential) => credential.toJSON())`,
    );
  const signInOptions = async () => (await t.http.post('/users/tokens/passkey/options').send({}).expect(200)).body as { challenge_id: string; options: unknown };

  it('adds a passkey while signed in, signs out, and signs in with it without a password (aal2, amr webauthn)', async () => {
    await page.locator('input[name="identity"]').fill(user.email);
    await page.locator('input[name="secret"]').fill(user.password);
    await page.getByRole('button', { name: 'Sign in with password' }).click();
    await profile().getByText(user.email).waitFor();
    expect(await profile().innerText()).toContain('aal1');

    await page.locator('#add-passkey input[name="name"]').fill('Laptop');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.locator('#passkeys').getByText('Laptop').waitFor();
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(credentials[0]).toMatchObject({ isResidentCredential: true, rpId: 'localhost' });
    const factors = (await t.http.get('/users/mfa/factors').set(bearer(await pageToken())).expect(200)).body.factors;
    expect(factors).toEqual([expect.objectContaining({ factor_type: 'webauthn', friendly_name: 'Laptop', status: 'verified', last_used_at: null })]);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in with a passkey' }).waitFor();

    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await profile().getByText(user.email).waitFor();
    expect(await profile().innerText()).toMatch(/aal2[\s\S]*webauthn/);
    const token = await pageToken();
    expect((await t.http.get('/users/profile').set(bearer(token)).expect(200)).body.email).toBe(user.email);
    expect(claimsOf(token)).toMatchObject({ sub: user.id, aal: 'aal2', amr: [{ method: 'webauthn', timestamp: expect.any(Number) }] });
  });

  it('answers a password login’s MFA challenge with the passkey (aal2, amr password then webauthn)', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('input[name="identity"]').fill(user.email);
    await page.locator('input[name="secret"]').fill(user.password);
    await page.getByRole('button', { name: 'Sign in with password' }).click();
    await page.getByRole('button', { name: 'Confirm with your passkey' }).click();
    await profile().getByText(user.email).waitFor();
    const claims = claimsOf(await pageToken());
    expect(claims.aal).toBe('aal2');
    expect(claims.amr?.map(({ method }: { method: string }) => method)).toEqual(['password', 'webauthn']);
  });

  it('steps a session up with the passkey, bound to that session', async () => {
    const { body: challenge } = await t.http.post('/users/tokens/issue').send({ identity: user.email, secret: user.password }).expect(201);
    expect(challenge).toMatchObject({ mfa_required: true, factors: [expect.objectContaining({ factor_type: 'webauthn' })] });
    // A TOTP code for a passkey factor is refused clearly.
    await t.http.post('/users/tokens/mfa').send({ mfa_token: challenge.mfa_token, factor_id: challenge.factors[0].id, code: '123456' }).expect(400);

    const session = await passkeySession();
    const { body: options } = await t.http.post('/users/tokens/step-up/passkey-options').set(bearer(session)).expect(200);
    const webauthn = await assertion(options.options);
    // Another session cannot use this session's challenge.
    const other = await passkeySession();
    expect((await t.http.post('/users/tokens/step-up').set(bearer(other)).send({ challenge_id: options.challenge_id, webauthn }).expect(401)).body.code).toBe('PASSKEY_CHALLENGE_INVALID');
    const { body: again } = await t.http.post('/users/tokens/step-up/passkey-options').set(bearer(session)).expect(200);
    const stepped = await t.http.post('/users/tokens/step-up').set(bearer(session)).send({ challenge_id: again.challenge_id, webauthn: await assertion(again.options) }).expect(201);
    expect(claimsOf(stepped.body.access_token)).toMatchObject({ aal: 'aal2', amr: [{ method: 'webauthn' }] });

    // An aal1 session of this user (the GoTrue API's password grant: Supabase's model) is read-only, but steps up with the passkey.
    const { body: password } = await t.http.post('/auth/v1/token?grant_type=password').send({ email: user.email, password: user.password }).expect(200);
    expect(claimsOf(password.access_token)).toMatchObject({ aal: 'aal1' });
    const { body: fromAal1 } = await t.http.post('/users/tokens/step-up/passkey-options').set(bearer(password.access_token)).expect(200);
    const raised = await t.http.post('/users/tokens/step-up').set(bearer(password.access_token)).send({ challenge_id: fromAal1.challenge_id, webauthn: await assertion(fromAal1.options) }).expect(201);
    expect(claimsOf(raised.body.access_token)).toMatchObject({ aal: 'aal2' });
  });

  /** A session signed in with the passkey, from here. */
  async function passkeySession(): Promise<string> {
    const { challenge_id, options } = await signInOptions();
    const { body } = await t.http.post('/users/tokens/passkey').send({ challenge_id, response: await assertion(options) }).expect(201);
    return body.access_token as string;
  }

  it('refuses a replayed or expired challenge, an unknown credential and a wrong origin', async () => {
    const first = await signInOptions();
    const response = await assertion(first.options);
    await t.http.post('/users/tokens/passkey').send({ challenge_id: first.challenge_id, response }).expect(201);
    const replayed = await t.http.post('/users/tokens/passkey').send({ challenge_id: first.challenge_id, response }).expect(401);
    expect(replayed.body.code).toBe('PASSKEY_CHALLENGE_INVALID');

    const expired = await signInOptions();
    const late = await assertion(expired.options);
    await t.db.query(`UPDATE webauthn_challenges SET expires_at = now() - interval '1 second' WHERE id = $1`, [expired.challenge_id]);
    expect((await t.http.post('/users/tokens/passkey').send({ challenge_id: expired.challenge_id, response: late }).expect(401)).body.code).toBe('PASSKEY_CHALLENGE_INVALID');

    const unknown = await signInOptions();
    const forged = await assertion(unknown.options);
    const otherId = Buffer.from('not-a-registered-credential').toString('base64url');
    expect((await t.http.post('/users/tokens/passkey').send({ challenge_id: unknown.challenge_id, response: { ...forged, id: otherId, rawId: otherId } }).expect(401)).body.code).toBe('PASSKEY_UNKNOWN');

    const elsewhere = await signInOptions();
    const phished = await assertion(elsewhere.options);
    const clientData = JSON.parse(Buffer.from(phished.response.clientDataJSON, 'base64url').toString());
    const clientDataJSON = Buffer.from(JSON.stringify({ ...clientData, origin: 'https://evil.example' })).toString('base64url');
    const refused = await t.http.post('/users/tokens/passkey').send({ challenge_id: elsewhere.challenge_id, response: { ...phished, response: { ...phished.response, clientDataJSON } } }).expect(401);
    expect(refused.body).toMatchObject({ code: 'PASSKEY_INVALID', message: expect.stringContaining('origin') });

    // Malformed answers are 4xx, never a 500.
    await t.http.post('/users/tokens/passkey').send({ challenge_id: 'nope', response: {} }).expect(400);
    const garbage = await signInOptions();
    await t.http.post('/users/tokens/passkey').send({ challenge_id: garbage.challenge_id, response: { id: 'x', rawId: 'x', response: {}, type: 'public-key' } }).expect(401);
  });

  it('refuses an authenticator whose signature counter went backwards (a copied key), with an event', async () => {
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    const [credential] = credentials;
    expect(credential.signCount).toBeGreaterThan(1);
    const { rows: [stored] } = await t.db.query(`SELECT sign_count FROM mfa_factors WHERE user_id = $1 AND factor_type = 'webauthn'`, [user.id]);
    // (the refused assertions above were signed too, and recorded nothing)
    expect(Number(stored.sign_count)).toBeGreaterThan(1);
    expect(Number(stored.sign_count)).toBeLessThanOrEqual(credential.signCount);

    // The same key, as a copy that has signed less often.
    await cdp.send('WebAuthn.removeCredential', { authenticatorId, credentialId: credential.credentialId });
    await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: { ...credential, signCount: 0 } });
    const { challenge_id, options } = await signInOptions();
    const refused = await t.http.post('/users/tokens/passkey').send({ challenge_id, response: await assertion(options) }).expect(401);
    expect(refused.body.code).toBe('PASSKEY_INVALID');
    const { rows } = await t.db.query(`SELECT data FROM outbox_events WHERE user_id = $1 AND operation = 'user.passkey_counter_anomaly'`, [user.id]);
    expect(rows).toEqual([{ data: expect.objectContaining({ stored_counter: Number(stored.sign_count), presented_counter: 1 }) }]);
  });

  it('removes the passkey with a recent second factor (aal2), and records only events asyncapi.yaml describes', async () => {
    const { rows: [factor] } = await t.db.query(`SELECT id, last_used_at FROM mfa_factors WHERE user_id = $1`, [user.id]);
    expect(factor.last_used_at).not.toBeNull();
    // The key again with a counter ahead of the stored one: accepted.
    const { credentials: [copy] } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    const { rows: [stored] } = await t.db.query(`SELECT sign_count FROM mfa_factors WHERE id = $1`, [factor.id]);
    await cdp.send('WebAuthn.removeCredential', { authenticatorId, credentialId: copy.credentialId });
    await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: { ...copy, signCount: Number(stored.sign_count) + 10 } });
    const session = await passkeySession();
    const renamed = await t.http.patch(`/users/mfa/factors/${factor.id}`).set(bearer(session)).send({ friendly_name: 'Old laptop' }).expect(200);
    expect(renamed.body).toMatchObject({ factor_type: 'webauthn', friendly_name: 'Old laptop' });
    await t.http.delete(`/users/mfa/factors/${factor.id}`).set(bearer(session)).expect(204);
    expect((await t.http.get('/users/profile').set(bearer(session)).expect(200)).body.email).toBe(user.email);
    const { challenge_id, options } = await signInOptions();
    expect((await t.http.post('/users/tokens/passkey').send({ challenge_id, response: await assertion(options) }).expect(401)).body.code).toBe('PASSKEY_UNKNOWN');

    const { rows: events } = await t.db.query(`SELECT * FROM outbox_events WHERE user_id = $1 ORDER BY seq`, [user.id]);
    const operations = events.map((row: { operation: string }) => row.operation);
    expect(operations).toEqual(expect.arrayContaining(['user.mfa_enroll', 'user.mfa_recovery_codes_regenerate', 'user.passkey_login', 'user.passkey_counter_anomaly', 'user.mfa_rename', 'user.mfa_remove']));
    expect(events.find((row: { operation: string }) => row.operation === 'user.mfa_enroll').data).toMatchObject({ factor_type: 'webauthn', friendly_name: 'Laptop', status: 'verified' });
    expect(events.find((row: { operation: string }) => row.operation === 'user.mfa_remove').data).toMatchObject({ factor_type: 'webauthn', mfa: false });
    expectOutboxRowsMatchAsyncApi(events);
  });
});
