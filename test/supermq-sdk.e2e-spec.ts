/**
 * The compatibility contract with SuperMQ's Go SDK (issue #13): every user, token, verification and
 * password call of both generations (`pkg/sdk` and the older `pkg/sdk/go`), replayed exactly as the Go
 * code sends it — method, path, body as encoding/json marshals the struct (the whole User with `id`,
 * `credentials` and zero `created_at`/`updated_at`), `Content-Type: application/json` even without a
 * body, the token as Bearer — over real HTTP, and every answer decoded into the SDK's structs with
 * Go's rules. test/support/go-sdk.ts is the transcription of the SDK; this file is the list of calls
 * that must keep working.
 */
import { randomBytes } from 'node:crypto';
import { freePort } from './support/built-app';
import { GENERATIONS, GoSdk, SdkError, goMarshal } from './support/go-sdk';
import { SmtpSink, linkIn } from './support/smtp-sink';
import { ADMIN, TestApp, startTestApp } from './support/test-app';

const RESET_PAGE = 'https://app.example.com/password/reset';
const PASSWORD = 'correct-horse-battery';

const tokenOf = (url: URL) => url.searchParams.get('token') as string;

describe.each(Object.values(GENERATIONS))("SuperMQ's Go SDK, $name, against the service", (generation) => {
  const smtp = new SmtpSink();
  let t: TestApp;
  let sdk: GoSdk;
  let admin: string;

  const unique = () => randomBytes(4).toString('hex');
  const newUser = () => {
    const tag = unique();
    return { first_name: 'Ada', last_name: 'Lovelace', email: `ada.${tag}@example.com`, credentials: { username: `ada_${tag}`, secret: PASSWORD } };
  };

  beforeAll(async () => {
    await smtp.start();
    const port = await freePort();
    t = await startTestApp({
      port,
      env: { EMAIL_HOST: '127.0.0.1', EMAIL_PORT: String(smtp.port), EMAIL_MIN_INTERVAL: '0s', PASSWORD_RESET_URL_PREFIX: RESET_PAGE },
    });
    sdk = new GoSdk(`http://127.0.0.1:${port}`, generation, 'https://evil.example');
    admin = (await sdk.createToken(ADMIN.email, ADMIN.password)).access_token as string;
  });
  afterAll(async () => {
    await t?.close();
    await smtp.stop();
  });

  it('sends what Go marshals: the whole User, with id "", credentials and zero times', () => {
    const body = JSON.parse(goMarshal(generation.user, { first_name: 'Ada', email: 'ada@example.com' }));
    expect(body).toEqual({ id: '', first_name: 'Ada', email: 'ada@example.com', credentials: {}, created_at: '0001-01-01T00:00:00Z', updated_at: '0001-01-01T00:00:00Z' });
  });

  it('CreateUser, CreateToken, UserProfile, User: a self-registered user, decoded into the SDK User', async () => {
    const fields = newUser();
    const created = await sdk.createUser({ ...fields, tags: ['iot'], metadata: { team: 'core' }, status: 'enabled' });
    expect(created).toMatchObject({ first_name: 'Ada', email: fields.email, credentials: { username: fields.credentials.username }, tags: ['iot'], metadata: { team: 'core' }, status: 'enabled', role: 'user' });
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.created_at).not.toBe('0001-01-01T00:00:00Z');
    expect(sdk.sent.at(-1)).toMatchObject({ method: 'POST', path: '/users', headers: { 'Content-Type': 'application/json' } });

    const token = await sdk.createToken(fields.email, PASSWORD);
    expect(token).toMatchObject({ access_type: 'Bearer', access_token: expect.any(String), refresh_token: expect.any(String) });
    const profile = await sdk.userProfile(token.access_token as string);
    expect(profile).toMatchObject({ id: created.id, email: fields.email });
    expect(await sdk.getUser(created.id as string, admin)).toMatchObject({ id: created.id, email: fields.email });
  });

  it('SendVerification and VerifyEmail (bodiless POST with Content-Type; GET /verify-email?token=)', async () => {
    const fields = newUser();
    await sdk.createUser(fields);
    const token = (await sdk.createToken(fields.email, PASSWORD)).access_token as string;
    const link = linkIn(await smtp.waitFor(fields.email));
    if (generation.hasVerification) {
      await sdk.sendVerification(token);
      const resent = linkIn(await smtp.waitFor(fields.email, 2));
      await sdk.verifyEmail(tokenOf(resent));
    } else {
      await sdk.verifyEmail(tokenOf(link)); // the older SDK has no call for it: the mailed link is followed
    }
    const { rows } = await t.db.query('SELECT verified_at FROM users WHERE email = $1', [fields.email]);
    expect(rows[0].verified_at).not.toBeNull();
  });

  describe('a verified user, changed through the SDK', () => {
    let id: string;
    let access: string;
    let refresh: string;
    let fields: ReturnType<typeof newUser>;

    beforeAll(async () => {
      fields = newUser();
      id = (await sdk.createUser(fields)).id as string;
      await t.db.query('UPDATE users SET verified_at = now() WHERE id = $1', [id]);
      const token = await sdk.createToken(fields.email, PASSWORD);
      access = token.access_token as string;
      refresh = token.refresh_token as string;
    });

    it('UpdateUser with only what the caller set, and with a whole User read back and changed', async () => {
      const updated = await sdk.updateUser({ id, first_name: 'Augusta', metadata: { team: 'edge' } }, access);
      expect(updated).toMatchObject({ id, first_name: 'Augusta', last_name: 'Lovelace', metadata: { team: 'edge' } });

      // The SDK idiom: read the user, change a field, send the struct back (read-only fields included).
      const profile = await sdk.userProfile(access);
      const again = await sdk.updateUser({ ...profile, last_name: 'King' }, access);
      expect(again).toMatchObject({ id, first_name: 'Augusta', last_name: 'King', email: profile.email, status: 'enabled', role: 'user' });
    });

    it('UpdateUserTags, UpdateProfilePicture (the whole User), UpdateUserEmail and UpdateUsername', async () => {
      expect(await sdk.updateUser({ id, tags: ['edge', 'beta'] }, access, '/tags')).toMatchObject({ tags: ['edge', 'beta'] });
      expect(await sdk.updateUser({ id, profile_picture: 'https://example.com/ada.png' }, access, '/picture')).toMatchObject({ profile_picture: 'https://example.com/ada.png' });
      const email = `augusta.${unique()}@example.com`;
      expect(await sdk.updateUserEmail({ id, email }, access)).toMatchObject({ email });
      await t.db.query('UPDATE users SET verified_at = now() WHERE id = $1', [id]);
      const username = `augusta_${unique()}`;
      expect(await sdk.updateUsername({ id, credentials: { username } }, access)).toMatchObject({ credentials: { username } });
      fields = { ...fields, email, credentials: { username, secret: PASSWORD } };
    });

    it('UpdatePassword, then RefreshToken (the refresh token as Bearer, no body)', async () => {
      const user = await sdk.updatePassword(PASSWORD, 'n3w-Secret!', access);
      expect(user).toMatchObject({ id });
      const pair = await sdk.refreshToken(refresh);
      expect(pair).toMatchObject({ access_type: 'Bearer' });
      expect(pair.refresh_token).not.toBe(refresh);
      access = pair.access_token as string;
      refresh = pair.refresh_token as string;
      await expect(sdk.createToken(fields.email, PASSWORD)).rejects.toMatchObject({ status: 401 });
      expect(await sdk.createToken(fields.credentials.username, 'n3w-Secret!')).toMatchObject({ access_type: 'Bearer' });
    });

    it('Users and SearchUsers, with the query the SDK builds (with_attributes/with_metadata always sent)', async () => {
      const page = await sdk.users({ offset: 0, limit: 5, email: fields.email, status: 'enabled', tag: 'edge', metadata: { team: 'edge' }, order: 'created_at', direction: 'asc' }, admin);
      expect(page).toMatchObject({ total: 1, offset: 0, limit: 5 });
      expect(page.users.map((u) => u.id)).toEqual([id]);
      expect(sdk.sent.at(-1)!.path).toMatch(/with_attributes=false&with_metadata=false$/);

      const found = await sdk.searchUsers({ limit: 10, username: fields.credentials.username }, access);
      expect(found.users.map((u) => u.id)).toEqual([id]);
    });

    it('UpdateUserTags with an empty list clears the tags (Go drops the empty slice: the body has no `tags`)', async () => {
      const cleared = await sdk.updateUser({ id, tags: [] }, access, '/tags');
      expect(JSON.parse(sdk.sent.at(-1)!.body!)).not.toHaveProperty('tags');
      expect(cleared.tags ?? []).toEqual([]);
      expect((await sdk.userProfile(access)).tags ?? []).toEqual([]);
    });

    it('UpdateUserRole, DisableUser and EnableUser (admin)', async () => {
      expect(await sdk.updateUser({ id, role: 'admin' }, admin, '/role')).toMatchObject({ role: 'admin' });
      expect(await sdk.updateUser({ id, role: 'user' }, admin, '/role')).toMatchObject({ role: 'user' });
      expect(await sdk.disableUser(id, admin)).toMatchObject({ status: 'disabled' });
      expect(await sdk.enableUser(id, admin)).toMatchObject({ status: 'enabled' });
    });

    it('ResetPasswordRequest ({email, host:""} with Referer) mails a link under the configured prefix only; ResetPassword sets it', async () => {
      await sdk.resetPasswordRequest(fields.email);
      const link = linkIn(await smtp.waitFor(fields.email, 2)); // the first mail went to the changed address' verification
      expect(link.origin + link.pathname).toBe(RESET_PAGE);
      await sdk.resetPassword('an0ther-Secret', 'an0ther-Secret', tokenOf(link));
      expect(await sdk.createToken(fields.email, 'an0ther-Secret')).toMatchObject({ access_type: 'Bearer' });
    });

    it('DeleteUser answers 204', async () => {
      await sdk.deleteUser(id, admin);
      await expect(sdk.getUser(id, admin)).resolves.toMatchObject({ status: 'deleted' });
    });
  });

  it('errors decode as the SDK decodes them: the status and the `error` string', async () => {
    const fields = newUser();
    await sdk.createUser(fields);
    const error: SdkError = await sdk.createUser({ ...fields, credentials: { username: `other_${unique()}`, secret: PASSWORD } }).catch((e) => e);
    expect({ status: error.status, message: error.message }).toEqual({ status: 409, message: 'email already registered' });
    const invalid: SdkError = await sdk.createUser({ ...newUser(), email: 'not-an-address' }).catch((e) => e);
    expect({ status: invalid.status, message: invalid.message }).toEqual({ status: 400, message: 'email: email must be an e-mail address' });
  });
});

describe('the leniency has limits: what no SuperMQ User or request carries is still refused', () => {
  let t: TestApp;
  let admin: string;
  let id: string;

  beforeAll(async () => {
    t = await startTestApp();
    admin = (await t.http.post('/users/tokens/issue').send({ identity: ADMIN.email, secret: ADMIN.password })).body.access_token;
    id = (await t.http.get('/users/profile').set('Authorization', `Bearer ${admin}`)).body.id;
  });
  afterAll(() => t?.close());

  const patch = (path: string, body: object) => t.http.patch(path).set('Authorization', `Bearer ${admin}`).send(body);
  const problems = (body: { details?: { field: string }[] }) => body.details?.map((d) => d.field);

  it('refuses a field that is no field of the User object, a typo inside credentials, and a wrongly typed ignored field', async () => {
    expect(problems((await patch(`/users/${id}`, { frist_name: 'Ada' }).expect(400)).body)).toEqual(['frist_name']);
    expect(problems((await patch(`/users/${id}`, { first_name: 'Ada', credentials: { usrname: 'ada' } }).expect(400)).body)).toEqual(['credentials.usrname']);
    expect(problems((await patch(`/users/${id}/tags`, { tags: ['a'], status: 'paused' }).expect(400)).body)).toEqual(['status']);
  });

  it('refuses a body id other than the path\'s, and any id on create', async () => {
    const other = '00000000-0000-4000-8000-000000000000';
    expect((await patch(`/users/${id}`, { id: other, first_name: 'Ada' }).expect(400)).body.details).toEqual([{ field: 'id', problem: 'must be empty or the id in the path' }]);
    await patch(`/users/${id}`, { id, first_name: 'Ada' }).expect(200);
    const created = await t.http.post('/users').send({ id: other, first_name: 'A', last_name: 'B', email: 'ab@example.com', credentials: { username: 'ab', secret: PASSWORD } });
    expect({ status: created.status, details: created.body.details }).toEqual({ status: 400, details: [{ field: 'id', problem: 'must be empty: the server makes the id' }] });
  });

  it('ignores, never applies, a read-only field: status and role in an update change nothing', async () => {
    const user = await t.http.post('/users').send({ first_name: 'A', last_name: 'B', email: `ro.${randomBytes(3).toString('hex')}@example.com`, credentials: { username: `ro_${randomBytes(3).toString('hex')}`, secret: PASSWORD } }).expect(201);
    const changed = await patch(`/users/${user.body.id}`, { first_name: 'C', status: 'disabled', role: 'admin', email: 'x@example.com' }).expect(200);
    expect(changed.body).toMatchObject({ first_name: 'C', status: 'enabled', role: 'user', email: user.body.email });
  });
});

describe("Magistrala's clients: the older SDK's `user_name` login, and the numeric role and status of its README", () => {
  let t: TestApp;
  let sdk: GoSdk;
  let admin: string;

  const unique = () => randomBytes(4).toString('hex');
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

  beforeAll(async () => {
    const port = await freePort();
    t = await startTestApp({ port });
    sdk = new GoSdk(`http://127.0.0.1:${port}`, GENERATIONS.older, 'https://evil.example');
    admin = (await t.http.post('/users/tokens/issue').send({ identity: ADMIN.email, secret: ADMIN.password })).body.access_token;
  });
  afterAll(() => t?.close());

  it('CreateToken with a Login of `user_name` (Go still sends `identity: ""`)', async () => {
    const username = `grace_${unique()}`;
    await t.http.post('/users').send({ first_name: 'Grace', last_name: 'Hopper', email: `${username}@example.com`, credentials: { username, secret: PASSWORD } }).expect(201);
    const pair = await sdk.createTokenFrom({ user_name: username, secret: PASSWORD });
    expect(JSON.parse(sdk.sent.at(-1)!.body!)).toEqual({ identity: '', user_name: username, secret: PASSWORD });
    expect(pair).toMatchObject({ access_type: 'Bearer' });
    await expect(sdk.createTokenFrom({ user_name: username, secret: 'not-the-password' })).rejects.toMatchObject({ status: 401 });
  });

  it('registers with the README\'s body ("role": 0, "status": 0: user, enabled) and answers the names', async () => {
    const tag = unique();
    const readme = { first_name: 'Ada', last_name: 'Lovelace', credentials: { username: `ada_${tag}`, secret: PASSWORD }, email: `ada.${tag}@example.com`, role: 0, status: 0, tags: ['iot', 'beta'], metadata: { team: 'core' } };
    const created = await t.http.post('/users').send(readme).expect(201);
    expect(created.body).toMatchObject({ role: 'user', status: 'enabled', tags: ['iot', 'beta'] });
  });

  it('takes 1 as admin and as disabled from an admin, on create and on PATCH /users/{id}/role; other numbers are refused', async () => {
    const tag = unique();
    const body = { first_name: 'Al', last_name: 'Kindi', credentials: { username: `al_${tag}`, secret: PASSWORD }, email: `al.${tag}@example.com` };
    const created = await t.http.post('/users').set(bearer(admin)).send({ ...body, role: 1, status: 1 }).expect(201);
    expect(created.body).toMatchObject({ role: 'admin', status: 'disabled' });
    const demoted = await t.http.patch(`/users/${created.body.id}/role`).set(bearer(admin)).send({ role: 0 }).expect(200);
    expect(demoted.body.role).toBe('user');
    const refused = await t.http.patch(`/users/${created.body.id}/role`).set(bearer(admin)).send({ role: 2 }).expect(400);
    expect(refused.body.details).toEqual([{ field: 'role', problem: expect.any(String) }]);
    await t.http.post('/users').send({ ...body, email: `al2.${tag}@example.com`, credentials: { username: `al2_${tag}`, secret: PASSWORD }, status: 2 }).expect(400);
  });
});
