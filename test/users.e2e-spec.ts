import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import { ADMIN, TestApp, startTestApp } from './support/test-app';
import { PASSWORD, TestUser, bearer, createUser, login, loginAdmin, newUserBody } from './support/users';

/**
 * The users resource end to end (API.md §1, §2, §4): registration, viewing, updates, the self/admin
 * rule, roles, statuses and search, against the real application and database.
 */

type Response = request.Response;

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const PUBLIC_KEYS = ['credentials', 'first_name', 'id', 'last_name', 'metadata', 'profile_picture'];
const FULL_KEYS = [
  ...PUBLIC_KEYS,
  'auth_provider',
  'created_at',
  'email',
  'mfa',
  'private_metadata',
  'role',
  'status',
  'tags',
  'updated_at',
  'updated_by',
  'user_type',
  'verified_at',
].sort();
const PAGE_KEYS = ['limit', 'next_cursor', 'offset', 'total', 'total_exact', 'users'];

const uniq = () => randomBytes(4).toString('hex');

/** Status and error code together, so that a failure shows both. */
function expectError(response: Response, status: number, code: string) {
  expect({ status: response.status, code: response.body?.code }).toEqual({ status, code });
}

function expectValidation(response: Response, field: string) {
  expectError(response, 400, 'VALIDATION_FAILED');
  const fields = ((response.body.details ?? []) as { field: string }[]).map((detail) => detail.field);
  expect(fields).toContain(field);
}

function expectNoSecrets(body: unknown) {
  const text = JSON.stringify(body);
  expect(text).not.toContain(PASSWORD);
  expect(text).not.toMatch(/\$argon2/);
  expect(text).not.toMatch(/"(secret|password|password_hash|passwordHash)"/);
}

function expectPublicView(user: Record<string, unknown>) {
  expect(Object.keys(user).sort()).toEqual(PUBLIC_KEYS);
  expect(Object.keys(user.credentials as object)).toEqual(['username']);
}

describe('users (e2e)', () => {
  let t: TestApp;
  let admin: string;
  let adminId: string;

  beforeAll(async () => {
    t = await startTestApp();
    admin = await loginAdmin(t);
    adminId = (await t.http.get('/users/profile').set(bearer(admin)).expect(200)).body.id;
  });
  afterAll(() => t.close());

  /** The stored row, straight from the database. */
  async function row(id: string): Promise<Record<string, any>> {
    const { rows } = await t.db.query('SELECT * FROM users WHERE id = $1', [id]);
    return rows[0];
  }

  /** Every column of the row as JSON, to show that a refused request changed nothing. */
  async function snapshot(id: string): Promise<unknown> {
    const { rows } = await t.db.query('SELECT to_jsonb(u) AS row FROM users u WHERE id = $1', [id]);
    return rows[0]?.row;
  }

  async function countByEmail(email: string): Promise<number> {
    const { rows } = await t.db.query('SELECT count(*)::int AS n FROM users WHERE email = lower($1)', [email]);
    return rows[0].n;
  }

  /** How many users, events and mails there are: a refused registration changes none (tests in a file run one at a time). */
  async function rowCounts(): Promise<Record<string, number>> {
    const { rows } = await t.db.query(`SELECT (SELECT count(*) FROM users)::int AS users, (SELECT count(*) FROM outbox_events)::int AS events, (SELECT count(*) FROM mail_outbox)::int AS mails`);
    return rows[0];
  }

  function register(body: Record<string, unknown>, token?: string) {
    const call = t.http.post('/users');
    if (token) call.set(bearer(token));
    return call.send(body);
  }

  it('the admin e-mail from the test environment is the bootstrap admin', async () => {
    expect((await row(adminId)).email).toBe(ADMIN.email);
  });

  describe('POST /users', () => {
    it('answers 201 with the whole user and a Location header, and never a secret', async () => {
      const tag = uniq();
      const body = newUserBody({
        first_name: 'Grace',
        last_name: 'Hopper',
        email: `Grace.${tag}@Example.COM`,
        credentials: { username: `Grace_${tag}`, secret: PASSWORD },
        tags: ['iot', 'beta'],
        metadata: { team: 'core', nested: { level: 1 } },
        private_metadata: { plan: 'pro' },
        profile_picture: 'https://example.com/grace.png',
        user_type: 'customer',
      });
      const response = await register(body).expect(201);
      const user = response.body;

      expect(Object.keys(user).sort()).toEqual(FULL_KEYS);
      expect(user.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(user).toMatchObject({
        first_name: 'Grace',
        last_name: 'Hopper',
        email: `grace.${tag}@example.com`,
        credentials: { username: `Grace_${tag}` },
        tags: ['iot', 'beta'],
        metadata: { team: 'core', nested: { level: 1 } },
        private_metadata: { plan: 'pro' },
        profile_picture: 'https://example.com/grace.png',
        role: 'user',
        status: 'enabled',
        auth_provider: null,
        user_type: 'customer',
        verified_at: null,
        updated_by: null,
      });
      expect(Object.keys(user.credentials)).toEqual(['username']);
      expect(user.created_at).toMatch(RFC3339);
      expect(user.updated_at).toMatch(RFC3339);
      expect(response.headers.location).toBe(`/users/${user.id}`);
      expectNoSecrets(user);

      const stored = await row(user.id);
      expect(stored.email).toBe(`grace.${tag}@example.com`);
      expect(stored.password_hash).toMatch(/^\$argon2id\$/);
      await login(t, `GRACE.${tag}@example.com`, PASSWORD);
    });

    it('defaults tags, metadata, picture and user type', async () => {
      const response = await register(newUserBody()).expect(201);
      expect(response.body).toMatchObject({ tags: [], metadata: {}, private_metadata: {}, profile_picture: null, user_type: null });
    });

    it('accepts values at the limits', async () => {
      const body = newUserBody({
        first_name: 'F'.repeat(254),
        last_name: 'L'.repeat(254),
        credentials: { username: `a-b_${uniq()}`.padEnd(32, '9'), secret: 'x'.repeat(8) },
        tags: Array.from({ length: 32 }, (_, i) => `${i}`.padStart(64, 't')),
        metadata: { k: 'x'.repeat(16 * 1024 - 8) }, // exactly 16 KiB of JSON
      });
      const response = await register(body).expect(201);
      expect(response.body.credentials.username).toHaveLength(32);
      expect(response.body.tags).toHaveLength(32);
      const long = newUserBody({ credentials: { username: `long_${uniq()}`, secret: 'p'.repeat(1024) } });
      await register(long).expect(201);
      await login(t, long.email, 'p'.repeat(1024));
    });

    it('refuses a taken e-mail, also when it differs only in case: 409 EMAIL_TAKEN', async () => {
      const first = newUserBody();
      await register(first).expect(201);
      const again = newUserBody({ email: first.email.toUpperCase() });
      expectError(await register(again), 409, 'EMAIL_TAKEN');
      expect(await countByEmail(first.email)).toBe(1);
      const { rows } = await t.db.query('SELECT count(*)::int AS n FROM users WHERE lower(username) = lower($1)', [again.credentials.username]);
      expect(rows[0].n).toBe(0);
    });

    it('refuses a taken username, case-insensitively: 409 USERNAME_TAKEN', async () => {
      const first = newUserBody({ credentials: { username: `Taken_${uniq()}`, secret: PASSWORD } });
      await register(first).expect(201);
      const again = newUserBody({ credentials: { username: first.credentials.username.toLowerCase(), secret: PASSWORD } });
      expectError(await register(again), 409, 'USERNAME_TAKEN');
      const upper = newUserBody({ credentials: { username: first.credentials.username.toUpperCase(), secret: PASSWORD } });
      expectError(await register(upper), 409, 'USERNAME_TAKEN');
      expect(await countByEmail(again.email)).toBe(0);
      expect(await countByEmail(upper.email)).toBe(0);
    });

    const credentials = (username: string, secret = PASSWORD) => ({ credentials: { username, secret } });
    const invalid: [string, () => Record<string, unknown>, string][] = [
      ['a bad e-mail', () => ({ email: 'not-an-email' }), 'email'],
      ['a missing e-mail', () => ({ email: undefined }), 'email'],
      ['a username with "__"', () => credentials('a__b'), 'credentials.username'],
      ['a username with "--"', () => credentials('a--b'), 'credentials.username'],
      ['a username starting with "_"', () => credentials('_a'), 'credentials.username'],
      ['a username starting with "-"', () => credentials('-a'), 'credentials.username'],
      ['a 33-character username', () => credentials('a'.repeat(33)), 'credentials.username'],
      ['an e-mail address as username', () => credentials('ada@example.com'), 'credentials.username'],
      ['an empty username', () => credentials(''), 'credentials.username'],
      ['missing credentials', () => ({ credentials: undefined }), 'credentials'],
      ['an empty first name', () => ({ first_name: '' }), 'first_name'],
      ['a blank first name', () => ({ first_name: '   ' }), 'first_name'],
      ['a 255-character last name', () => ({ last_name: 'x'.repeat(255) }), 'last_name'],
      ['a missing last name', () => ({ last_name: undefined }), 'last_name'],
      ['33 tags', () => ({ tags: Array.from({ length: 33 }, (_, i) => `tag${i}`) }), 'tags'],
      ['a 65-character tag', () => ({ tags: ['ok', 'x'.repeat(65)] }), 'tags'],
      ['an empty tag', () => ({ tags: [''] }), 'tags'],
      ['tags that are not strings', () => ({ tags: [1, 2] }), 'tags'],
      ['metadata over 16 KiB', () => ({ metadata: { k: 'x'.repeat(16 * 1024) } }), 'metadata'],
      ['private_metadata over 16 KiB', () => ({ private_metadata: { k: 'x'.repeat(16 * 1024) } }), 'private_metadata'],
      ['metadata that is an array', () => ({ metadata: [1, 2] }), 'metadata'],
      ['metadata that is a string', () => ({ metadata: 'team=core' }), 'metadata'],
      ['credentials that are null', () => ({ credentials: null }), 'credentials'],
      ['credentials that are a string', () => ({ credentials: 'ada:secret' }), 'credentials'],
      ['an ftp:// profile picture', () => ({ profile_picture: 'ftp://example.com/a.png' }), 'profile_picture'],
      ['a javascript: profile picture', () => ({ profile_picture: 'javascript:alert(1)' }), 'profile_picture'],
      ['a 7-character password', () => credentials(`pw_${uniq()}`, '1234567'), 'credentials.secret'],
      ['a 1025-character password', () => credentials(`pw_${uniq()}`, 'p'.repeat(1025)), 'credentials.secret'],
      ['an unknown field', () => ({ is_admin: true }), 'is_admin'],
      ['an unknown field in credentials', () => ({ credentials: { username: `u_${uniq()}`, secret: PASSWORD, hash: 'x' } }), 'credentials.hash'],
      ['a bad role', () => ({ role: 'root' }), 'role'],
      ['status deleted', () => ({ status: 'deleted' }), 'status'],
    ];
    it.each(invalid)('refuses %s: 400 VALIDATION_FAILED naming the field, nothing written', async (_, overrides, field) => {
      const body = newUserBody(overrides());
      const before = await rowCounts();
      expectValidation(await register(body, admin), field);
      expect(await rowCounts()).toEqual(before);
    });

    it('refuses a non-JSON body: 415', async () => {
      const response = await t.http.post('/users').set('Content-Type', 'text/plain').send('first_name=Ada');
      expectError(response, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });

    describe('role and status are an admin’s to set', () => {
      let user: TestUser;
      beforeAll(async () => {
        user = await createUser(t);
      });

      it.each([
        ['anonymous', 'role admin', { role: 'admin' }],
        ['anonymous', 'status disabled', { status: 'disabled' }],
        ['a user', 'role admin', { role: 'admin' }],
        ['a user', 'status disabled', { status: 'disabled' }],
      ])('%s sending %s gets 403 FORBIDDEN and nothing is written', async (who, _, overrides) => {
        const body = newUserBody(overrides);
        const response = await register(body, who === 'a user' ? user.accessToken : undefined);
        expectError(response, 403, 'FORBIDDEN');
        expect(await countByEmail(body.email)).toBe(0);
      });

      it('anyone may send the defaults role user and status enabled', async () => {
        const response = await register(newUserBody({ role: 'user', status: 'enabled' })).expect(201);
        expect(response.body).toMatchObject({ role: 'user', status: 'enabled' });
      });

      it('an admin may create an admin', async () => {
        const body = newUserBody({ role: 'admin' });
        const response = await register(body, admin).expect(201);
        expect(response.body).toMatchObject({ role: 'admin', status: 'enabled' });
        expect((await row(response.body.id)).role).toBe('admin');
        const token = (await login(t, body.email, PASSWORD)).accessToken;
        await t.http.get('/users').set(bearer(token)).expect(200);
        // Not left behind as a second admin for the LAST_ADMIN tests' sake.
        await t.db.query(`UPDATE users SET role = 'user' WHERE id = $1`, [response.body.id]);
      });

      it('an admin may create a disabled user, who cannot log in', async () => {
        const body = newUserBody({ status: 'disabled' });
        const response = await register(body, admin).expect(201);
        expect(response.body).toMatchObject({ role: 'user', status: 'disabled' });
        expect((await row(response.body.id)).status).toBe('disabled');
        const refused = await t.http.post('/users/tokens/issue').send({ identity: body.email, secret: PASSWORD });
        expectError(refused, 401, 'ACCOUNT_DISABLED');
      });
    });
  });

  describe('GET /users/profile and GET /users/{id}', () => {
    let self: TestUser;
    let other: TestUser;

    beforeAll(async () => {
      self = await createUser(t, { private_metadata: { plan: 'pro' } });
      other = await createUser(t, {
        first_name: 'Other',
        last_name: 'Person',
        tags: ['secret-tag'],
        metadata: { team: 'core' },
        private_metadata: { plan: 'hidden' },
        profile_picture: 'https://example.com/other.png',
        user_type: 'partner',
      });
    });

    it('GET /users/profile answers the caller’s whole user', async () => {
      const response = await t.http.get('/users/profile').set(bearer(self.accessToken)).expect(200);
      expect(Object.keys(response.body).sort()).toEqual(FULL_KEYS);
      expect(response.body).toMatchObject({ id: self.id, email: self.email, private_metadata: { plan: 'pro' } });
      expectNoSecrets(response.body);
    });

    it('GET /users/profile works for an unverified user', async () => {
      const unverified = await createUser(t, {}, { verified: false });
      const response = await t.http.get('/users/profile').set(bearer(unverified.accessToken)).expect(200);
      expect(response.body).toMatchObject({ id: unverified.id, verified_at: null });
    });

    it('GET /users/profile without a token: 401', async () => {
      expectError(await t.http.get('/users/profile'), 401, 'TOKEN_MISSING');
      expectError(await t.http.get('/users/profile').set(bearer('not-a-jwt')), 401, 'TOKEN_INVALID');
    });

    it('self sees the whole user', async () => {
      const response = await t.http.get(`/users/${self.id}`).set(bearer(self.accessToken)).expect(200);
      expect(Object.keys(response.body).sort()).toEqual(FULL_KEYS);
      expect(response.body).toMatchObject({ id: self.id, email: self.email, private_metadata: { plan: 'pro' } });
    });

    it('an admin sees the whole user', async () => {
      const response = await t.http.get(`/users/${other.id}`).set(bearer(admin)).expect(200);
      expect(Object.keys(response.body).sort()).toEqual(FULL_KEYS);
      expect(response.body).toMatchObject({
        email: other.email,
        tags: ['secret-tag'],
        private_metadata: { plan: 'hidden' },
        user_type: 'partner',
      });
      expectNoSecrets(response.body);
    });

    it('another user sees only the public view', async () => {
      const response = await t.http.get(`/users/${other.id}`).set(bearer(self.accessToken)).expect(200);
      expectPublicView(response.body);
      expect(response.body).toEqual({
        id: other.id,
        first_name: 'Other',
        last_name: 'Person',
        credentials: { username: other.username },
        profile_picture: 'https://example.com/other.png',
        metadata: { team: 'core' },
      });
    });

    it('a disabled user is 404 USER_NOT_FOUND to others, 200 to an admin', async () => {
      const target = await createUser(t);
      await t.http.post(`/users/${target.id}/disable`).set(bearer(admin)).expect(200);
      expectError(await t.http.get(`/users/${target.id}`).set(bearer(self.accessToken)), 404, 'USER_NOT_FOUND');
      const seen = await t.http.get(`/users/${target.id}`).set(bearer(admin)).expect(200);
      expect(seen.body).toMatchObject({ id: target.id, status: 'disabled' });
    });

    it('a deleted user is 404 USER_NOT_FOUND to others, 200 to an admin', async () => {
      const target = await createUser(t);
      await t.http.delete(`/users/${target.id}`).set(bearer(admin)).expect(204);
      expectError(await t.http.get(`/users/${target.id}`).set(bearer(self.accessToken)), 404, 'USER_NOT_FOUND');
      const seen = await t.http.get(`/users/${target.id}`).set(bearer(admin)).expect(200);
      expect(seen.body).toMatchObject({ id: target.id, status: 'deleted' });
    });

    it('an unknown id is 404 USER_NOT_FOUND', async () => {
      expectError(await t.http.get(`/users/${randomUUID()}`).set(bearer(self.accessToken)), 404, 'USER_NOT_FOUND');
      expectError(await t.http.get(`/users/${randomUUID()}`).set(bearer(admin)), 404, 'USER_NOT_FOUND');
    });

    it.each(['not-a-uuid', '123', `${randomUUID()}x`])('a non-UUID id (%s) is 400 INVALID_ID', async (id) => {
      expectError(await t.http.get(`/users/${id}`).set(bearer(self.accessToken)), 400, 'INVALID_ID');
    });
  });

  describe('e-mail verification gating', () => {
    describe('with USERS_ALLOW_UNVERIFIED_USER=false (the default)', () => {
      let unverified: TestUser;
      let other: TestUser;
      beforeAll(async () => {
        unverified = await createUser(t, {}, { verified: false });
        other = await createUser(t);
      });

      it('GET /users/{id} is 401 EMAIL_NOT_VERIFIED', async () => {
        expectError(await t.http.get(`/users/${other.id}`).set(bearer(unverified.accessToken)), 401, 'EMAIL_NOT_VERIFIED');
      });

      it('GET /users/search is 401 EMAIL_NOT_VERIFIED', async () => {
        expectError(await t.http.get('/users/search?first_name=Ada').set(bearer(unverified.accessToken)), 401, 'EMAIL_NOT_VERIFIED');
      });

      it('PATCH /users/{id} is 401 EMAIL_NOT_VERIFIED and changes nothing', async () => {
        const before = await snapshot(unverified.id);
        const response = await t.http.patch(`/users/${unverified.id}`).set(bearer(unverified.accessToken)).send({ first_name: 'Changed' });
        expectError(response, 401, 'EMAIL_NOT_VERIFIED');
        expect(await snapshot(unverified.id)).toEqual(before);
      });

      it('GET /users/profile is 200', async () => {
        await t.http.get('/users/profile').set(bearer(unverified.accessToken)).expect(200);
      });

      it('PATCH /users/{id}/email is 200', async () => {
        const email = `Fixed.${uniq()}@Example.com`;
        const response = await t.http.patch(`/users/${unverified.id}/email`).set(bearer(unverified.accessToken)).send({ email }).expect(200);
        expect(response.body).toMatchObject({ email: email.toLowerCase(), verified_at: null });
      });

      it('a verified user passes', async () => {
        await t.http.get(`/users/${unverified.id}`).set(bearer(other.accessToken)).expect(200);
      });
    });

  });

  describe('PATCH /users/{id}', () => {
    it('self changes names, metadata, private metadata and user type; updated_by and updated_at follow', async () => {
      const user = await createUser(t);
      await t.db.query(`UPDATE users SET updated_at = '2020-01-01T00:00:00Z' WHERE id = $1`, [user.id]);
      const changes = {
        first_name: 'Augusta',
        last_name: 'King',
        metadata: { team: 'edge', nested: { a: [1, 2] } },
        private_metadata: { plan: 'free' },
        user_type: 'employee',
      };
      const response = await t.http.patch(`/users/${user.id}`).set(bearer(user.accessToken)).send(changes).expect(200);
      expect(response.body).toMatchObject({ ...changes, id: user.id, updated_by: user.id });
      expect(new Date(response.body.updated_at).getTime()).toBeGreaterThan(Date.parse('2020-01-01T00:00:00Z'));
      expect(response.body.updated_at).toMatch(RFC3339);

      const stored = await row(user.id);
      expect(stored).toMatchObject({
        first_name: 'Augusta',
        last_name: 'King',
        metadata: changes.metadata,
        private_metadata: changes.private_metadata,
        user_type: 'employee',
        updated_by: user.id,
      });
      const profile = await t.http.get('/users/profile').set(bearer(user.accessToken)).expect(200);
      expect(profile.body).toMatchObject(changes);
    });

    it('a partial update changes only what is given', async () => {
      const user = await createUser(t, { last_name: 'Unchanged', metadata: { keep: true } });
      const response = await t.http.patch(`/users/${user.id}`).set(bearer(user.accessToken)).send({ first_name: 'Only' }).expect(200);
      expect(response.body).toMatchObject({ first_name: 'Only', last_name: 'Unchanged', metadata: { keep: true } });
    });

    it('an admin may update anyone; updated_by is the admin', async () => {
      const user = await createUser(t);
      const response = await t.http.patch(`/users/${user.id}`).set(bearer(admin)).send({ last_name: 'ByAdmin' }).expect(200);
      expect(response.body).toMatchObject({ last_name: 'ByAdmin', updated_by: adminId });
      expect((await row(user.id)).updated_by).toBe(adminId);
    });

    it('an empty body is 400 VALIDATION_FAILED', async () => {
      const user = await createUser(t);
      const before = await snapshot(user.id);
      expectError(await t.http.patch(`/users/${user.id}`).set(bearer(user.accessToken)).send({}), 400, 'VALIDATION_FAILED');
      expect(await snapshot(user.id)).toEqual(before);
    });

    it.each([
      ['email', { email: 'new@example.com' }],
      ['role', { role: 'admin' }],
      ['tags', { tags: ['x'] }],
      ['status', { status: 'disabled' }],
      ['credentials', { credentials: { username: 'x', secret: 'whatever1' } }],
    ])('%s in the body, a User-object field this route does not change, is ignored (API.md: as SuperMQ does)', async (_field, body) => {
      const user = await createUser(t);
      const before = (await snapshot(user.id)) as Record<string, unknown>;
      await t.http.patch(`/users/${user.id}`).set(bearer(user.accessToken)).send({ first_name: 'Sneaky', ...body }).expect(200);
      expect(await snapshot(user.id)).toEqual({ ...before, first_name: 'Sneaky', updated_at: expect.any(String), updated_by: user.id });
    });

    it.each([
      ['first_name', { first_name: '' }],
      ['last_name', { last_name: 'x'.repeat(255) }],
      ['metadata', { metadata: [1] }],
      ['private_metadata', { private_metadata: { k: 'x'.repeat(16 * 1024) } }],
      ['user_type', { user_type: 'x'.repeat(65) }],
      ['first_name (null)', { first_name: null }],
      ['last_name (null)', { last_name: null }],
      ['metadata (null)', { metadata: null }],
      ['private_metadata (null)', { private_metadata: null }],
    ])('a bad %s is 400 VALIDATION_FAILED and changes nothing', async (label, body) => {
      const user = await createUser(t);
      const before = await snapshot(user.id);
      expectValidation(await t.http.patch(`/users/${user.id}`).set(bearer(user.accessToken)).send(body), label.split(' ')[0]);
      expect(await snapshot(user.id)).toEqual(before);
    });

    it('an unknown user is 404 USER_NOT_FOUND for an admin', async () => {
      expectError(await t.http.patch(`/users/${randomUUID()}`).set(bearer(admin)).send({ first_name: 'X' }), 404, 'USER_NOT_FOUND');
    });
  });

  describe('PATCH /users/{id}/email, /username, /picture, /tags', () => {
    it('email: 200, lower-cased, and verified_at cleared', async () => {
      const user = await createUser(t);
      expect((await row(user.id)).verified_at).not.toBeNull();
      const email = `New.${uniq()}@Example.ORG`;
      const response = await t.http.patch(`/users/${user.id}/email`).set(bearer(user.accessToken)).send({ email }).expect(200);
      expect(response.body).toMatchObject({ email: email.toLowerCase(), verified_at: null, updated_by: user.id });
      const stored = await row(user.id);
      expect(stored.email).toBe(email.toLowerCase());
      expect(stored.verified_at).toBeNull();
      await login(t, email.toLowerCase(), PASSWORD);
      const old = await t.http.post('/users/tokens/issue').send({ identity: user.email, secret: PASSWORD });
      expect(old.status).toBe(401);
    });

    it('email: an admin may change anyone’s', async () => {
      const user = await createUser(t);
      const email = `byadmin.${uniq()}@example.com`;
      const response = await t.http.patch(`/users/${user.id}/email`).set(bearer(admin)).send({ email }).expect(200);
      expect(response.body).toMatchObject({ email, updated_by: adminId });
    });

    it('email: a taken address (in any case) is 409 EMAIL_TAKEN', async () => {
      const user = await createUser(t);
      const holder = await createUser(t);
      const before = await snapshot(user.id);
      const response = await t.http.patch(`/users/${user.id}/email`).set(bearer(user.accessToken)).send({ email: holder.email.toUpperCase() });
      expectError(response, 409, 'EMAIL_TAKEN');
      expect(await snapshot(user.id)).toEqual(before);
    });

    it('email: a bad address is 400 VALIDATION_FAILED', async () => {
      const user = await createUser(t);
      expectValidation(await t.http.patch(`/users/${user.id}/email`).set(bearer(user.accessToken)).send({ email: 'nope' }), 'email');
      expectValidation(await t.http.patch(`/users/${user.id}/email`).set(bearer(user.accessToken)).send({}), 'email');
    });

    it('username: 200, and the new username logs in', async () => {
      const user = await createUser(t);
      const username = `Renamed_${uniq()}`;
      const response = await t.http.patch(`/users/${user.id}/username`).set(bearer(user.accessToken)).send({ username }).expect(200);
      expect(response.body.credentials).toEqual({ username });
      expect((await row(user.id)).username).toBe(username);
      await login(t, username.toLowerCase(), PASSWORD);
    });

    it('username: a taken one (in any case) is 409 USERNAME_TAKEN', async () => {
      const user = await createUser(t);
      const holder = await createUser(t);
      const before = await snapshot(user.id);
      const response = await t.http.patch(`/users/${user.id}/username`).set(bearer(user.accessToken)).send({ username: holder.username.toUpperCase() });
      expectError(response, 409, 'USERNAME_TAKEN');
      expect(await snapshot(user.id)).toEqual(before);
    });

    it.each(['a__b', 'a--b', '_a', 'a'.repeat(33), 'ada@example.com', ''])('username: %j is 400 VALIDATION_FAILED', async (username) => {
      const user = await createUser(t);
      expectValidation(await t.http.patch(`/users/${user.id}/username`).set(bearer(user.accessToken)).send({ username }), 'username');
    });

    it.each(['https://example.com/a.png', 'http://example.com/b.jpg'])('picture: %s is accepted', async (url) => {
      const user = await createUser(t);
      const response = await t.http.patch(`/users/${user.id}/picture`).set(bearer(user.accessToken)).send({ profile_picture: url }).expect(200);
      expect(response.body.profile_picture).toBe(url);
      expect((await row(user.id)).profile_picture).toBe(url);
    });

    it.each(['ftp://example.com/a.png', 'javascript:alert(1)', 'example.com/a.png', 'file:///etc/passwd', ''])(
      'picture: %j is 400 VALIDATION_FAILED',
      async (url) => {
        const user = await createUser(t, { profile_picture: 'https://example.com/keep.png' });
        const response = await t.http.patch(`/users/${user.id}/picture`).set(bearer(user.accessToken)).send({ profile_picture: url });
        expectValidation(response, 'profile_picture');
        expect((await row(user.id)).profile_picture).toBe('https://example.com/keep.png');
      },
    );

    it('tags: replaced, duplicates removed', async () => {
      const user = await createUser(t, { tags: ['old', 'stale'] });
      const response = await t.http.patch(`/users/${user.id}/tags`).set(bearer(user.accessToken)).send({ tags: ['new', 'beta', 'new', 'beta', 'x'] }).expect(200);
      expect([...response.body.tags].sort()).toEqual(['beta', 'new', 'x']);
      expect([...(await row(user.id)).tags].sort()).toEqual(['beta', 'new', 'x']);
      const cleared = await t.http.patch(`/users/${user.id}/tags`).set(bearer(user.accessToken)).send({ tags: [] }).expect(200);
      expect(cleared.body.tags).toEqual([]);
    });

    it.each([
      ['33 tags', Array.from({ length: 33 }, (_, i) => `t${i}`)],
      ['a 65-character tag', ['x'.repeat(65)]],
      ['not an array', 'a,b'],
    ])('tags: %s is 400 VALIDATION_FAILED', async (_, tags) => {
      const user = await createUser(t, { tags: ['keep'] });
      expectValidation(await t.http.patch(`/users/${user.id}/tags`).set(bearer(user.accessToken)).send({ tags }), 'tags');
      expect((await row(user.id)).tags).toEqual(['keep']);
    });
  });

  describe('the self/admin rule (IDOR)', () => {
    let a: TestUser;
    let b: TestUser;
    beforeAll(async () => {
      a = await createUser(t);
      b = await createUser(t, { tags: ['b'], metadata: { owner: 'b' } });
    });

    const routes: [string, 'patch' | 'post' | 'delete', (id: string) => string, Record<string, unknown> | undefined][] = [
      ['PATCH /users/{id}', 'patch', (id) => `/users/${id}`, { first_name: 'Hacked' }],
      ['PATCH /users/{id}/email', 'patch', (id) => `/users/${id}/email`, { email: `hacked.${uniq()}@example.com` }],
      ['PATCH /users/{id}/username', 'patch', (id) => `/users/${id}/username`, { username: `hacked_${uniq()}` }],
      ['PATCH /users/{id}/picture', 'patch', (id) => `/users/${id}/picture`, { profile_picture: 'https://evil.example.com/x.png' }],
      ['PATCH /users/{id}/tags', 'patch', (id) => `/users/${id}/tags`, { tags: ['hacked'] }],
      ['PATCH /users/{id}/role', 'patch', (id) => `/users/${id}/role`, { role: 'admin' }],
      ['POST /users/{id}/disable', 'post', (id) => `/users/${id}/disable`, undefined],
      ['POST /users/{id}/enable', 'post', (id) => `/users/${id}/enable`, undefined],
      ['DELETE /users/{id}', 'delete', (id) => `/users/${id}`, undefined],
    ];

    it.each(routes)('user A on user B: %s is 403 FORBIDDEN and B is unchanged', async (_, method, path, body) => {
      const before = await snapshot(b.id);
      const call = t.http[method](path(b.id)).set(bearer(a.accessToken));
      const response = body ? await call.send(body) : await call;
      expectError(response, 403, 'FORBIDDEN');
      expect(await snapshot(b.id)).toEqual(before);
      await t.http.get('/users/profile').set(bearer(b.accessToken)).expect(200);
    });

    it('a user cannot promote itself: PATCH /users/{self}/role is 403 FORBIDDEN', async () => {
      const before = await snapshot(a.id);
      expectError(await t.http.patch(`/users/${a.id}/role`).set(bearer(a.accessToken)).send({ role: 'admin' }), 403, 'FORBIDDEN');
      expect(await snapshot(a.id)).toEqual(before);
    });

    it('a user cannot list users: GET /users is 403 FORBIDDEN', async () => {
      expectError(await t.http.get('/users').set(bearer(a.accessToken)), 403, 'FORBIDDEN');
    });
  });

  describe('roles', () => {
    it('an admin promotes a user, who can then GET /users; demoting takes it away', async () => {
      const user = await createUser(t);
      expectError(await t.http.get('/users').set(bearer(user.accessToken)), 403, 'FORBIDDEN');
      const promoted = await t.http.patch(`/users/${user.id}/role`).set(bearer(admin)).send({ role: 'admin' }).expect(200);
      expect(promoted.body).toMatchObject({ id: user.id, role: 'admin', updated_by: adminId });
      expect((await row(user.id)).role).toBe('admin');
      await t.http.get('/users').set(bearer(user.accessToken)).expect(200);
      const fresh = (await login(t, user.email, PASSWORD)).accessToken;
      await t.http.get('/users').set(bearer(fresh)).expect(200);

      const demoted = await t.http.patch(`/users/${user.id}/role`).set(bearer(admin)).send({ role: 'user' }).expect(200);
      expect(demoted.body.role).toBe('user');
      expectError(await t.http.get('/users').set(bearer(user.accessToken)), 403, 'FORBIDDEN');
    });

    it('a bad role is 400 VALIDATION_FAILED; an unknown user 404; a bad id 400 INVALID_ID', async () => {
      const user = await createUser(t);
      expectValidation(await t.http.patch(`/users/${user.id}/role`).set(bearer(admin)).send({ role: 'root' }), 'role');
      expectValidation(await t.http.patch(`/users/${user.id}/role`).set(bearer(admin)).send({}), 'role');
      expectError(await t.http.patch(`/users/${randomUUID()}/role`).set(bearer(admin)).send({ role: 'admin' }), 404, 'USER_NOT_FOUND');
      expectError(await t.http.patch('/users/nope/role').set(bearer(admin)).send({ role: 'admin' }), 400, 'INVALID_ID');
    });

    it('the last enabled admin cannot demote, disable or delete itself (409 LAST_ADMIN); with two admins it can', async () => {
      // Only the bootstrap admin is an admin from here on, whatever other tests did.
      await t.db.query(`UPDATE users SET role = 'user' WHERE role = 'admin' AND id <> $1`, [adminId]);
      const before = await snapshot(adminId);

      // A disabled admin does not count.
      const disabledAdmin = await register(newUserBody({ role: 'admin', status: 'disabled' }), admin).expect(201);

      expectError(await t.http.patch(`/users/${adminId}/role`).set(bearer(admin)).send({ role: 'user' }), 409, 'LAST_ADMIN');
      expectError(await t.http.post(`/users/${adminId}/disable`).set(bearer(admin)), 409, 'LAST_ADMIN');
      expectError(await t.http.delete(`/users/${adminId}`).set(bearer(admin)), 409, 'LAST_ADMIN');
      expect(await snapshot(adminId)).toEqual(before);
      await t.http.get('/users').set(bearer(admin)).expect(200);

      // A second enabled admin: now the bootstrap admin may step down, and be promoted back.
      const second = await createUser(t);
      await t.http.patch(`/users/${second.id}/role`).set(bearer(admin)).send({ role: 'admin' }).expect(200);
      const steppedDown = await t.http.patch(`/users/${adminId}/role`).set(bearer(admin)).send({ role: 'user' }).expect(200);
      expect(steppedDown.body.role).toBe('user');
      expectError(await t.http.get('/users').set(bearer(admin)), 403, 'FORBIDDEN');
      // …and now `second` is the last one.
      expectError(await t.http.patch(`/users/${second.id}/role`).set(bearer(second.accessToken)).send({ role: 'user' }), 409, 'LAST_ADMIN');
      await t.http.patch(`/users/${adminId}/role`).set(bearer(second.accessToken)).send({ role: 'admin' }).expect(200);
      await t.http.get('/users').set(bearer(admin)).expect(200);

      // With two admins, the other one may demote, disable and delete itself.
      const demoted = await t.http.patch(`/users/${second.id}/role`).set(bearer(second.accessToken)).send({ role: 'user' }).expect(200);
      expect(demoted.body.role).toBe('user');
      await t.http.patch(`/users/${second.id}/role`).set(bearer(admin)).send({ role: 'admin' }).expect(200);
      const disabled = await t.http.post(`/users/${second.id}/disable`).set(bearer(second.accessToken)).expect(200);
      expect(disabled.body).toMatchObject({ role: 'admin', status: 'disabled' });

      const third = await createUser(t);
      await t.http.patch(`/users/${third.id}/role`).set(bearer(admin)).send({ role: 'admin' }).expect(200);
      await t.http.delete(`/users/${third.id}`).set(bearer(third.accessToken)).expect(204);
      expect((await row(third.id)).status).toBe('deleted');

      // Back to a single enabled admin.
      expect((await row(disabledAdmin.body.id)).status).toBe('disabled');
      expectError(await t.http.post(`/users/${adminId}/disable`).set(bearer(admin)), 409, 'LAST_ADMIN');
      expect((await row(adminId)).role).toBe('admin');
    });
  });

  describe('statuses', () => {
    it('an admin disables a user: 200, again 409 STATUS_ALREADY_SET; the user cannot log in or use its token', async () => {
      const user = await createUser(t);
      const response = await t.http.post(`/users/${user.id}/disable`).set(bearer(admin)).expect(200);
      expect(response.body).toMatchObject({ id: user.id, status: 'disabled', updated_by: adminId });
      expect((await row(user.id)).status).toBe('disabled');
      expectError(await t.http.post(`/users/${user.id}/disable`).set(bearer(admin)), 409, 'STATUS_ALREADY_SET');

      const refused = await t.http.post('/users/tokens/issue').send({ identity: user.email, secret: PASSWORD });
      expectError(refused, 401, 'ACCOUNT_DISABLED');
      expect((await t.http.get('/users/profile').set(bearer(user.accessToken))).status).toBe(401);
    });

    it('an admin enables a disabled user, who can log in again; enabling again is 409 STATUS_ALREADY_SET', async () => {
      const user = await createUser(t);
      await t.http.post(`/users/${user.id}/disable`).set(bearer(admin)).expect(200);
      const response = await t.http.post(`/users/${user.id}/enable`).set(bearer(admin)).expect(200);
      expect(response.body).toMatchObject({ id: user.id, status: 'enabled' });
      expect((await row(user.id)).status).toBe('enabled');
      expectError(await t.http.post(`/users/${user.id}/enable`).set(bearer(admin)), 409, 'STATUS_ALREADY_SET');
      const { accessToken } = await login(t, user.email, PASSWORD);
      await t.http.get('/users/profile').set(bearer(accessToken)).expect(200);
    });

    it('a user may disable itself, and then cannot log in', async () => {
      const user = await createUser(t);
      const response = await t.http.post(`/users/${user.id}/disable`).set(bearer(user.accessToken)).expect(200);
      expect(response.body).toMatchObject({ status: 'disabled', updated_by: user.id });
      expectError(await t.http.post('/users/tokens/issue').send({ identity: user.username, secret: PASSWORD }), 401, 'ACCOUNT_DISABLED');
    });

    it('DELETE self: 204, status deleted with deleted_at, login refused, hidden from the default list', async () => {
      const user = await createUser(t);
      const response = await t.http.delete(`/users/${user.id}`).set(bearer(user.accessToken)).expect(204);
      expect(response.text).toBe('');
      const stored = await row(user.id);
      expect(stored.status).toBe('deleted');
      expect(stored.deleted_at).toBeInstanceOf(Date);

      const refused = await t.http.post('/users/tokens/issue').send({ identity: user.email, secret: PASSWORD });
      expect(refused.status).toBe(401);
      expect((await t.http.get('/users/profile').set(bearer(user.accessToken))).status).toBe(401);

      const emailFilter = `email=${encodeURIComponent(user.email)}`;
      const ids = async (query: string) =>
        (await t.http.get(`/users?${query}`).set(bearer(admin)).expect(200)).body.users.map((u: { id: string }) => u.id);
      expect(await ids(emailFilter)).toEqual([]);
      expect(await ids(`${emailFilter}&status=enabled`)).toEqual([]);
      expect(await ids(`${emailFilter}&status=deleted`)).toEqual([user.id]);
      expect(await ids(`${emailFilter}&status=all`)).toEqual([user.id]);
    });

    it('an admin deletes a user; deleting again is 409 STATUS_ALREADY_SET', async () => {
      const user = await createUser(t);
      await t.http.delete(`/users/${user.id}`).set(bearer(admin)).expect(204);
      expect((await row(user.id)).status).toBe('deleted');
      expectError(await t.http.delete(`/users/${user.id}`).set(bearer(admin)), 409, 'STATUS_ALREADY_SET');
    });

    it('an admin re-enables a deleted user, who can log in again', async () => {
      const user = await createUser(t);
      await t.http.delete(`/users/${user.id}`).set(bearer(user.accessToken)).expect(204);
      const response = await t.http.post(`/users/${user.id}/enable`).set(bearer(admin)).expect(200);
      expect(response.body).toMatchObject({ id: user.id, status: 'enabled' });
      const stored = await row(user.id);
      expect(stored.status).toBe('enabled');
      expect(stored.deleted_at).toBeNull();
      const { accessToken } = await login(t, user.email, PASSWORD);
      const profile = await t.http.get('/users/profile').set(bearer(accessToken)).expect(200);
      expect(profile.body.status).toBe('enabled');
    });

    it('status changes on an unknown user are 404 USER_NOT_FOUND; on a bad id 400 INVALID_ID', async () => {
      expectError(await t.http.post(`/users/${randomUUID()}/disable`).set(bearer(admin)), 404, 'USER_NOT_FOUND');
      expectError(await t.http.post(`/users/${randomUUID()}/enable`).set(bearer(admin)), 404, 'USER_NOT_FOUND');
      expectError(await t.http.delete(`/users/${randomUUID()}`).set(bearer(admin)), 404, 'USER_NOT_FOUND');
      expectError(await t.http.delete('/users/xyz').set(bearer(admin)), 400, 'INVALID_ID');
    });
  });

  describe('GET /users/search', () => {
    const marker = `Qz${uniq()}`;
    let searcher: TestUser;
    let one: TestUser;
    let two: TestUser;
    let disabledId: string;
    let deletedId: string;

    beforeAll(async () => {
      searcher = await createUser(t);
      one = await createUser(t, {
        first_name: `${marker}First`,
        last_name: `${marker}Alpha`,
        credentials: { username: `${marker}_one`, secret: PASSWORD },
        private_metadata: { hidden: true },
        tags: ['hidden'],
      });
      two = await createUser(t, {
        first_name: `${marker}First`,
        last_name: `${marker}Beta`,
        credentials: { username: `${marker}_two`, secret: PASSWORD },
      });
      disabledId = (
        await register(
          newUserBody({ first_name: `${marker}First`, last_name: `${marker}Gone`, credentials: { username: `${marker}_off`, secret: PASSWORD }, status: 'disabled' }),
          admin,
        ).expect(201)
      ).body.id;
      const deleted = await createUser(t, {
        first_name: `${marker}First`,
        last_name: `${marker}Gone`,
        credentials: { username: `${marker}_del`, secret: PASSWORD },
      });
      deletedId = deleted.id;
      await t.http.delete(`/users/${deletedId}`).set(bearer(admin)).expect(204);
    });

    const search = (query: string) => t.http.get(`/users/search?${query}`).set(bearer(searcher.accessToken));
    const ids = (response: Response) => (response.body.users as { id: string }[]).map((u) => u.id).sort();

    it('by username (case-insensitive substring): public views of enabled users only', async () => {
      const response = await search(`username=${marker.toUpperCase()}_`).expect(200);
      expect(Object.keys(response.body).sort()).toEqual(PAGE_KEYS);
      expect(response.body).toMatchObject({ total: 2, offset: 0, limit: 10 });
      expect(ids(response)).toEqual([one.id, two.id].sort());
      for (const user of response.body.users) expectPublicView(user);
      expect(response.body.users.find((u: { id: string }) => u.id === one.id)).toEqual({
        id: one.id,
        first_name: `${marker}First`,
        last_name: `${marker}Alpha`,
        credentials: { username: one.username },
        profile_picture: null,
        metadata: {},
      });
    });

    it('a username shorter than 3 characters is 400 VALIDATION_FAILED', async () => {
      expectValidation(await search('username=ab'), 'username');
    });

    it('by first_name and by last_name', async () => {
      const byFirst = await search(`first_name=${marker.toLowerCase()}first`).expect(200);
      expect(byFirst.body.total).toBe(2);
      expect(ids(byFirst)).toEqual([one.id, two.id].sort());
      const byLast = await search(`last_name=${marker}BETA`).expect(200);
      expect(ids(byLast)).toEqual([two.id]);
      const byBoth = await search(`first_name=${marker}&last_name=alpha`).expect(200);
      expect(ids(byBoth)).toEqual([one.id]);
      const disabledOnly = await search(`last_name=${marker}Gone`).expect(200);
      expect(disabledOnly.body).toEqual({ total: 0, total_exact: true, offset: 0, limit: 10, next_cursor: null, users: [] });
    });

    it('by id prefix (at least 3 characters)', async () => {
      const prefix = one.id.slice(0, 13);
      const response = await search(`id=${prefix}`).expect(200);
      expect(ids(response)).toContain(one.id);
      for (const user of response.body.users) expect(user.id.startsWith(prefix)).toBe(true);
      expect(ids(await search(`id=${one.id.toUpperCase()}`).expect(200))).toEqual([one.id]);
      expect(ids(await search(`id=${one.id}`).expect(200))).toEqual([one.id]);
      expectValidation(await search(`id=${one.id.slice(0, 2)}`), 'id');
      expect((await search(`id=${disabledId}`).expect(200)).body.total).toBe(0);
      expect((await search(`id=${deletedId}`).expect(200)).body.total).toBe(0);
    });

    it('pages with offset and limit', async () => {
      const first = await search(`first_name=${marker}&limit=1`).expect(200);
      const second = await search(`first_name=${marker}&limit=1&offset=1`).expect(200);
      const past = await search(`first_name=${marker}&limit=1&offset=2`).expect(200);
      expect(first.body).toMatchObject({ total: 2, offset: 0, limit: 1 });
      expect(second.body).toMatchObject({ total: 2, offset: 1, limit: 1 });
      expect(past.body).toMatchObject({ total: 2, offset: 2, limit: 1, users: [] });
      expect([...ids(first), ...ids(second)].sort()).toEqual([one.id, two.id].sort());
    });

    it('bad paging is 400 VALIDATION_FAILED', async () => {
      expectValidation(await search(`first_name=${marker}&limit=0`), 'limit');
      expectValidation(await search(`first_name=${marker}&limit=101`), 'limit');
      expectValidation(await search(`first_name=${marker}&offset=-1`), 'offset');
    });

    it('an offset beyond PostgreSQL bigint is 400 VALIDATION_FAILED, not a 500', async () => {
      expectValidation(await search(`first_name=${marker}&offset=99999999999999999999`), 'offset');
    });

    it('without any filter is 400 VALIDATION_FAILED', async () => {
      expectError(await search(''), 400, 'VALIDATION_FAILED');
      expectError(await search('limit=5&offset=0'), 400, 'VALIDATION_FAILED');
    });

    it('refuses unknown parameters and anonymous callers', async () => {
      expectError(await search(`first_name=${marker}&email=x`), 400, 'VALIDATION_FAILED');
      expectError(await t.http.get(`/users/search?first_name=${marker}`), 401, 'TOKEN_MISSING');
    });
  });

  describe('e-mail verification gating with USERS_ALLOW_UNVERIFIED_USER=true', () => {
    let open: TestApp;
    let unverified: TestUser;
    let other: TestUser;
    beforeAll(async () => {
      // A second app with another setting, on the same database.
      open = await startTestApp({ env: { USERS_ALLOW_UNVERIFIED_USER: 'true' }, database: t.database });
      unverified = await createUser(open, {}, { verified: false });
      other = await createUser(open, {}, { verified: false });
    });
    afterAll(() => open?.close());

    it('the same calls succeed for an unverified user', async () => {
      const auth = bearer(unverified.accessToken);
      const viewed = await open.http.get(`/users/${other.id}`).set(auth).expect(200);
      expectPublicView(viewed.body);
      const found = await open.http.get(`/users/search?username=${other.username}`).set(auth).expect(200);
      expect(found.body.users.map((u: { id: string }) => u.id)).toEqual([other.id]);
      const patched = await open.http.patch(`/users/${unverified.id}`).set(auth).send({ first_name: 'Changed' }).expect(200);
      expect(patched.body.first_name).toBe('Changed');
      await open.http.get('/users/profile').set(auth).expect(200);
      const email = `open.${uniq()}@example.com`;
      const moved = await open.http.patch(`/users/${unverified.id}/email`).set(auth).send({ email }).expect(200);
      expect(moved.body.email).toBe(email);
    });
  });
});
