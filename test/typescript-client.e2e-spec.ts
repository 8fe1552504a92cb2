/**
 * The TypeScript client generated from openapi.json (clients/typescript: openapi-typescript's types,
 * openapi-fetch's requests) is current, and works against the running service through a whole
 * account's life: register, verify through the mailed link, log in, profile, admin list, refresh,
 * logout. Every call below is type-checked against the document by `npm run lint`.
 */
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsersClient, createUsersClient } from '../clients/typescript';
import { scripts } from '../package.json';
import { freePort } from './support/built-app';
import { SmtpSink, linkIn } from './support/smtp-sink';
import { ADMIN, TestApp, startTestApp } from './support/test-app';
import { PASSWORD } from './support/users';

const ROOT = join(__dirname, '..');
const COMMITTED_SCHEMA = 'clients/typescript/schema.ts';

describe('the generated TypeScript client', () => {
  it('is current: regenerating it from openapi.json changes nothing', () => {
    // The very command of `npm run client:generate` (which `npm run openapi:export` runs), into a scratch file.
    expect(scripts['client:generate']).toContain(`--output ${COMMITTED_SCHEMA}`);
    const scratch = mkdtempSync(join(tmpdir(), 'users-client-'));
    try {
      const output = join(scratch, 'schema.ts');
      execSync(scripts['client:generate'].replace(`--output ${COMMITTED_SCHEMA}`, `--output ${output}`), {
        cwd: ROOT,
        env: { ...process.env, PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}` },
        stdio: 'pipe',
      });
      const hint = `${COMMITTED_SCHEMA} is stale: run \`npm run openapi:export\` (it regenerates the client too) and commit the result`;
      const fresh = readFileSync(output, 'utf8');
      const committed = readFileSync(join(ROOT, COMMITTED_SCHEMA), 'utf8');
      if (fresh !== committed) throw new Error(hint);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe('the generated TypeScript client against the service', () => {
  const smtp = new SmtpSink();
  let t: TestApp;
  let baseUrl: string;

  beforeAll(async () => {
    await smtp.start();
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    // Unverified users may sign in, but not use the API beyond their own account until they verify.
    t = await startTestApp({ port, env: { EMAIL_HOST: '127.0.0.1', EMAIL_PORT: String(smtp.port), USERS_PUBLIC_URL: baseUrl, USERS_ALLOW_UNVERIFIED_USER: 'false' } });
  });
  afterAll(async () => {
    await t?.close();
    await smtp.stop();
  });

  it('registers, logs in, verifies through the mailed link, reads the profile, is listed by an admin, refreshes and logs out', async () => {
    const tag = randomBytes(4).toString('hex');
    const email = `grace.${tag}@example.com`;
    let accessToken: string | undefined;
    const client: UsersClient = createUsersClient(baseUrl, { accessToken: () => accessToken });

    const registered = await client.POST('/users', {
      body: { first_name: 'Grace', last_name: 'Hopper', email, credentials: { username: `grace_${tag}`, secret: PASSWORD } },
    });
    expect(registered.response.status).toBe(201);
    const id = registered.data!.id;
    expect(registered.response.headers.get('Location')).toBe(`/users/${id}`);

    const wrong = await client.POST('/users/tokens/issue', { body: { identity: email, secret: 'not-the-password' } });
    expect(wrong.error).toMatchObject({ statusCode: 401, code: 'INVALID_CREDENTIALS' });
    const issued = await client.POST('/users/tokens/issue', { body: { identity: email, secret: PASSWORD } });
    expect(issued.response.status).toBe(201);
    // A session, not the MFA challenge (the user has no second factor): the union narrows on `mfa_required`.
    if (!issued.data || 'mfa_required' in issued.data) throw new Error('expected a session');
    const login = { data: issued.data };
    accessToken = login.data.access_token;
    const search = { params: { query: { username: `grace_${tag}` } } };
    expect((await client.GET('/users/search', search)).error).toMatchObject({ statusCode: 401, code: 'EMAIL_NOT_VERIFIED' });

    const link = linkIn(await smtp.waitFor(email));
    expect(link.origin + link.pathname).toBe(`${baseUrl}/verify-email`);
    const verified = await client.GET('/verify-email', { params: { query: { token: link.searchParams.get('token')! } } });
    expect(verified.response.status).toBe(200);
    expect(verified.data?.msg).toEqual(expect.any(String));
    expect((await client.GET('/users/search', search)).data).toMatchObject({ total: 1, users: [{ id, first_name: 'Grace' }] });

    const profile = await client.GET('/users/profile');
    expect(profile.data).toMatchObject({ id, email, first_name: 'Grace', credentials: { username: `grace_${tag}` }, role: 'user', status: 'enabled' });
    expect(profile.data?.verified_at).toEqual(expect.any(String));

    const notAdmin = await client.GET('/users', { params: { query: { email } } });
    expect(notAdmin.error).toMatchObject({ statusCode: 403, code: 'FORBIDDEN' });
    const admin = createUsersClient(baseUrl);
    const adminLogin = await admin.POST('/users/tokens/issue', { body: { identity: ADMIN.email, secret: ADMIN.password } });
    if (!adminLogin.data || 'mfa_required' in adminLogin.data) throw new Error('expected a session');
    const listed = await admin.GET('/users', {
      params: { query: { email, limit: 10 } },
      headers: { Authorization: `Bearer ${adminLogin.data.access_token}` },
    });
    expect(listed.data).toMatchObject({ total: 1, users: [{ id, email }] });

    // The refresh token goes as the refreshAuth scheme: `Authorization: Bearer <refresh_token>`.
    const refreshed = await client.POST('/users/tokens/refresh', { headers: { Authorization: `Bearer ${login.data!.refresh_token}` } });
    expect(refreshed.response.status).toBe(201);
    expect(refreshed.data?.refresh_token).not.toBe(login.data!.refresh_token);
    accessToken = refreshed.data!.access_token;
    expect((await client.GET('/users/profile')).data?.id).toBe(id);

    const logout = await client.POST('/users/logout');
    expect(logout.response.status).toBe(204);
    const after = await client.GET('/users/profile');
    expect(after.error).toMatchObject({ statusCode: 401, code: 'TOKEN_REVOKED' });
    const spent = await client.POST('/users/tokens/refresh', { body: { refresh_token: refreshed.data!.refresh_token } });
    expect(spent.error).toMatchObject({ statusCode: 401 });
  });
});
