import request from 'supertest';
import { ADMIN, TestApp, startTestApp } from './support/test-app';
import { PASSWORD, bearer, login, loginAdmin } from './support/users';

/**
 * GET /users (API.md §5) on a fixed population: every filter, every order in both directions with
 * id tie-breaks, pagination and the refusal of bad parameters. Expected answers are computed from the
 * seed model below, independently of the service's SQL. Names, usernames and e-mails are plain ASCII of
 * one letter case (and the usernames of one length) so that the expected order does not depend on the
 * database's collation; the users with `%`, `_` and `\` in their names carry the tag `special` instead of
 * `ord`, and order tests look at the `ord` users only.
 */

type Response = request.Response;
type Role = 'user' | 'admin';
type Status = 'enabled' | 'disabled' | 'deleted';
type Order = 'created_at' | 'updated_at' | 'first_name' | 'last_name' | 'username' | 'email';

interface Model {
  id: string;
  first_name: string;
  last_name: string;
  username: string;
  email: string;
  tags: string[];
  metadata: Record<string, unknown>;
  user_type: string | null;
  role: Role;
  status: Status;
  created_at: string;
  updated_at: string;
}

type Seed = Omit<Model, 'id' | 'email'> & { domain: string };

const created = (day: number) => `2024-01-${String(day).padStart(2, '0')}T10:00:00.000Z`;
const updated = (day: number) => `2024-03-${String(day).padStart(2, '0')}T08:30:00.000Z`;
const ADMIN_INSTANT = '2023-06-01T00:00:00.000Z';

function seed(
  username: string,
  first_name: string,
  last_name: string,
  createdDay: number,
  updatedDay: number,
  extra: Partial<Seed> = {},
): Seed {
  return {
    username,
    first_name,
    last_name,
    domain: 'list',
    tags: ['ord'],
    metadata: {},
    user_type: null,
    role: 'user',
    status: 'enabled',
    created_at: created(createdDay),
    updated_at: updated(updatedDay),
    ...extra,
  };
}

const SEEDS: Seed[] = [
  seed('sam001', 'Sam', 'Abbott', 1, 20, { tags: ['ord', 'iot'], metadata: { team: 'core' }, user_type: 'customer' }),
  seed('sam002', 'Sam', 'Baker', 2, 20, {
    tags: ['ord', 'iot', 'beta'],
    metadata: { team: 'core', level: { tier: 1, zone: 'eu' } },
    user_type: 'customer',
  }),
  seed('sam003', 'Sam', 'Carter', 3, 20, { tags: ['ord', 'beta'], metadata: { team: 'edge' }, user_type: 'partner' }),
  seed('sam004', 'Sam', 'Dalton', 4, 18, { metadata: { team: 'core', level: { tier: 2, zone: 'us' } }, user_type: 'employee', role: 'admin' }),
  seed('sam005', 'Sam', 'Ellis', 5, 17, { tags: ['ord', 'iot'], status: 'disabled' }),
  seed('ali006', 'Alice', 'Sammons', 6, 16, { metadata: { team: 'edge' } }),
  seed('bob007', 'Bob', 'Stone', 7, 15, { tags: ['ord', 'beta'] }),
  seed('car008', 'Carol', 'Hughes', 7, 14),
  seed('dav009', 'Dave', 'Irwin', 9, 13, { tags: ['ord', 'iot'], metadata: { team: 'core' }, status: 'deleted' }),
  seed('eve010', 'Eve', 'Jones', 10, 12, { status: 'deleted' }),
  seed('fra011', 'Frank', 'Klein', 11, 11, { tags: ['ord', 'gamma'], status: 'disabled' }),
  seed('gra012', 'Grace', 'Lopez', 12, 10, { domain: 'other', user_type: 'customer' }),
  seed('hei013', 'Heidi', 'Moore', 12, 9, { domain: 'other', user_type: 'partner' }),
  seed('iva014', 'Ivan', 'Nash', 12, 8, { domain: 'other', tags: ['ord', 'iot', 'beta', 'gamma'] }),
  seed('jud015', 'Judy', 'Owens', 15, 7),
  seed('mal016', 'Mallory', 'Price', 16, 7, { role: 'admin' }),
  seed('nia017', 'Niaj', 'Quinn', 17, 5),
  seed('oli018', 'Olivia', 'Quinn', 18, 4),
  seed('peg019', 'Peggy', 'Shaw', 19, 3),
  seed('rup020', 'Rupert', 'Todd', 20, 2),
  seed('syb021', 'Sybil', 'Upton', 21, 1),
  seed('tre022', 'Trent', 'Vance', 22, 21),
  seed('pct023', 'Per%cent', 'Literal', 23, 22, { tags: ['special'] }),
  seed('pct024', 'Percent', 'Back\\slash', 24, 23, { tags: ['special'] }),
  seed('und025', 'Under_score', 'Literal', 25, 24, { tags: ['special'] }),
  seed('und026', 'UnderXscore', 'Wildcard', 26, 25, { tags: ['special'] }),
];

const ORDERS: Order[] = ['created_at', 'updated_at', 'first_name', 'last_name', 'username', 'email'];
const FULL_KEYS = [
  'auth_provider',
  'created_at',
  'credentials',
  'email',
  'first_name',
  'id',
  'last_name',
  'metadata',
  'mfa',
  'private_metadata',
  'profile_picture',
  'role',
  'status',
  'tags',
  'updated_at',
  'updated_by',
  'user_type',
  'verified_at',
];

function expectError(response: Response, status: number, code: string) {
  expect({ status: response.status, code: response.body?.code }).toEqual({ status, code });
}

/** jsonb `@>` for objects and scalars. */
function contains(value: unknown, pattern: unknown): boolean {
  if (pattern !== null && typeof pattern === 'object' && !Array.isArray(pattern)) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
    return Object.entries(pattern).every(([key, sub]) => key in value && contains((value as Record<string, unknown>)[key], sub));
  }
  return value === pattern;
}

function sortKey(user: Model, order: Order): string | number {
  return order === 'created_at' || order === 'updated_at' ? Date.parse(user[order]) : user[order];
}

const compare = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);
const sorted = (ids: string[]) => [...ids].sort();

describe('GET /users (e2e)', () => {
  let t: TestApp;
  let admin: string;
  let model: Model[];
  const byUsername = (username: string) => model.find((u) => u.username === username)!;

  beforeAll(async () => {
    t = await startTestApp();
    admin = await loginAdmin(t);
    model = [];
    for (const s of SEEDS) {
      const { domain, ...fields } = s;
      const body = {
        first_name: fields.first_name,
        last_name: fields.last_name,
        // Mixed case on the way in: stored and listed in lower case.
        email: `${s.username.toUpperCase()}@${domain.toUpperCase()}.Test`,
        credentials: { username: s.username, secret: PASSWORD },
        tags: fields.tags,
        metadata: fields.metadata,
        private_metadata: { seed: s.username },
        ...(fields.user_type ? { user_type: fields.user_type } : {}),
        role: fields.role,
        status: fields.status === 'disabled' ? 'disabled' : 'enabled',
      };
      const response = await t.http.post('/users').set(bearer(admin)).send(body).expect(201);
      if (fields.status === 'deleted') await t.http.delete(`/users/${response.body.id}`).set(bearer(admin)).expect(204);
      model.push({ ...fields, id: response.body.id, email: `${s.username}@${domain}.test` });
    }
    // Fixed instants, so that order and date filters are deterministic.
    for (const user of model) {
      await t.db.query('UPDATE users SET created_at = $2, updated_at = $3, verified_at = now() WHERE id = $1', [
        user.id,
        user.created_at,
        user.updated_at,
      ]);
    }
    const { rows } = await t.db.query(
      'UPDATE users SET created_at = $2, updated_at = $2 WHERE email = $1 RETURNING id, first_name, last_name, username, email, tags, metadata, user_type, role, status',
      [ADMIN.email, ADMIN_INSTANT],
    );
    expect(rows).toHaveLength(1);
    model.push({ ...rows[0], created_at: ADMIN_INSTANT, updated_at: ADMIN_INSTANT });
    const { rows: count } = await t.db.query('SELECT count(*)::int AS n FROM users');
    expect(count[0].n).toBe(model.length); // nobody else in this database
  });
  afterAll(() => t.close());

  const list = (query = '') => t.http.get(`/users${query ? `?${query}` : ''}`).set(bearer(admin));
  const ids = (response: Response) => (response.body.users as { id: string }[]).map((u) => u.id);
  const where = (filter: (u: Model) => boolean, status: Status | 'all' = 'enabled') =>
    model.filter((u) => (status === 'all' || u.status === status) && filter(u));
  const qs = (params: Record<string, string | number>) =>
    Object.entries(params)
      .map(([key, value]) => `${key}=${encodeURIComponent(String(value))}`)
      .join('&');

  /** Every id of a filter's answer (one page of 100 holds them all here). */
  async function listIds(params: Record<string, string | number>): Promise<string[]> {
    const response = await list(qs({ limit: 100, ...params })).expect(200);
    expect(response.body.total).toBe(response.body.users.length);
    return ids(response);
  }

  /**
   * The answer holds exactly `pool`, sorted by `order` in `dir`, and each run of equal sort keys is
   * ordered by id (in one direction throughout: §5 says ties are broken by id, not which way).
   */
  function expectOrdered(actual: string[], pool: Model[], order: Order, dir: 'asc' | 'desc') {
    expect(sorted(actual)).toEqual(sorted(pool.map((u) => u.id)));
    const byId = new Map(pool.map((u) => [u.id, u]));
    const keys = actual.map((id) => sortKey(byId.get(id)!, order));
    const expectedKeys = pool.map((u) => sortKey(u, order)).sort(compare);
    if (dir === 'desc') expectedKeys.reverse();
    expect(keys).toEqual(expectedKeys);
    const directions = new Set<string>();
    for (let start = 0; start < actual.length; ) {
      let end = start + 1;
      while (end < actual.length && keys[end] === keys[start]) end++;
      const run = actual.slice(start, end);
      if (run.length > 1) {
        const asc = sorted(run);
        directions.add(run.join() === asc.join() ? 'asc' : run.join() === [...asc].reverse().join() ? 'desc' : 'unordered');
      }
      start = end;
    }
    expect([...directions].filter((d) => d === 'unordered')).toEqual([]);
    expect(directions.size).toBeLessThanOrEqual(1);
  }

  describe('access', () => {
    it('a non-admin is 403 FORBIDDEN; an anonymous caller 401', async () => {
      const { accessToken } = await login(t, 'sam001', PASSWORD);
      expectError(await t.http.get('/users').set(bearer(accessToken)), 403, 'FORBIDDEN');
      expectError(await t.http.get('/users?status=all').set(bearer(accessToken)), 403, 'FORBIDDEN');
      expectError(await t.http.get('/users'), 401, 'TOKEN_MISSING');
    });

    it('an admin seeded through the API (sam004) may list', async () => {
      const { accessToken } = await login(t, 'sam004', PASSWORD);
      await t.http.get('/users').set(bearer(accessToken)).expect(200);
    });
  });

  describe('defaults', () => {
    it('offset 0, limit 10, status enabled, newest first', async () => {
      const response = await list().expect(200);
      expect(Object.keys(response.body).sort()).toEqual(['limit', 'next_cursor', 'offset', 'total', 'total_exact', 'users']);
      const enabled = where(() => true);
      expect(response.body).toMatchObject({ total: enabled.length, offset: 0, limit: 10 });
      expect(response.body.users).toHaveLength(10);
      for (const user of response.body.users) expect(user.status).toBe('enabled');

      const everything = await list('limit=100').expect(200);
      expectOrdered(ids(everything), enabled, 'created_at', 'desc');
      expect(ids(response)).toEqual(ids(everything).slice(0, 10));
      const explicit = await list('order=created_at&dir=desc&status=enabled&offset=0&limit=10').expect(200);
      // Cursors are sealed with a random nonce: the same position is a different string each time.
      expect({ ...explicit.body, next_cursor: typeof explicit.body.next_cursor }).toEqual({ ...response.body, next_cursor: 'string' });
    });

    it('answers whole users as stored, e-mails in lower case, never a secret', async () => {
      const response = await list('status=all&limit=100').expect(200);
      expect(response.body.total).toBe(model.length);
      for (const user of response.body.users) {
        expect(Object.keys(user).sort()).toEqual(FULL_KEYS);
        const expected = model.find((u) => u.id === user.id)!;
        expect(user).toMatchObject({
          first_name: expected.first_name,
          last_name: expected.last_name,
          email: expected.email,
          credentials: { username: expected.username },
          tags: expected.tags,
          metadata: expected.metadata,
          user_type: expected.user_type,
          role: expected.role,
          status: expected.status,
          created_at: expected.created_at,
          updated_at: expected.updated_at,
        });
      }
      const text = JSON.stringify(response.body);
      expect(text).not.toMatch(/\$argon2|"secret"|"password/);
    });

    it('users is [] past the end, with the total', async () => {
      const total = where(() => true).length;
      expect((await list(`offset=${total}`).expect(200)).body).toEqual({ total, total_exact: true, offset: total, limit: 10, next_cursor: null, users: [] });
      expect((await list('offset=1000&limit=5').expect(200)).body).toEqual({ total, total_exact: true, offset: 1000, limit: 5, next_cursor: null, users: [] });
      expect((await list('name=nobody-has-this-name').expect(200)).body).toEqual({ total: 0, total_exact: true, offset: 0, limit: 10, next_cursor: null, users: [] });
    });
  });

  describe('text filters: case-insensitive substrings', () => {
    const cases: [string, string, (u: Model) => string[]][] = [
      ['first_name', 'SAM', (u) => [u.first_name]],
      ['first_name', 'a', (u) => [u.first_name]],
      ['last_name', 'ON', (u) => [u.last_name]],
      ['last_name', 'quinn', (u) => [u.last_name]],
      ['username', 'SAM00', (u) => [u.username]],
      ['username', '01', (u) => [u.username]],
      ['email', '@OTHER.test', (u) => [u.email]],
      ['email', 'admin@example', (u) => [u.email]],
      ['email', 'list.TEST', (u) => [u.email]],
      ['name', 'sam', (u) => [u.first_name, u.last_name]],
      ['name', 'QUINN', (u) => [u.first_name, u.last_name]],
      ['name', 'er', (u) => [u.first_name, u.last_name]],
    ];
    it.each(cases)('%s=%s', async (param, value, fields) => {
      for (const status of ['enabled', 'all'] as const) {
        const expected = where((u) => fields(u).some((f) => f.toLowerCase().includes(value.toLowerCase())), status);
        expect(expected.length).toBeGreaterThan(0);
        expect(sorted(await listIds({ [param]: value, status }))).toEqual(sorted(expected.map((u) => u.id)));
      }
    });

    it('name matches the first OR the last name', async () => {
      // "Sam" first names, and Alice Sammons by her last name; sam005 is disabled.
      const expected = ['sam001', 'sam002', 'sam003', 'sam004', 'ali006'].map((n) => byUsername(n).id);
      expect(sorted(await listIds({ name: 'sAm' }))).toEqual(sorted(expected));
    });

    it.each([
      ['name', '%', ['pct023']],
      ['name', 'r%c', ['pct023']],
      ['first_name', '%cent', ['pct023']],
      ['first_name', '_', ['und025']],
      ['first_name', 'r_s', ['und025']],
      ['name', 'under_', ['und025']],
      ['last_name', '\\', ['pct024']],
      ['last_name', 'k\\s', ['pct024']],
      ['username', '_', []],
      ['email', '%', []],
    ])('%s=%s: "%", "_" and "\\" are literal', async (param, value, usernames) => {
      expect(sorted(await listIds({ [param]: value, status: 'all' }))).toEqual(sorted(usernames.map((n) => byUsername(n).id)));
    });

    it('filters combine with AND', async () => {
      const expected = where((u) => u.first_name === 'Sam' && u.tags.includes('iot'), 'all');
      expect(sorted(await listIds({ name: 'sam', tags: 'iot', status: 'all' }))).toEqual(sorted(expected.map((u) => u.id)));
      const none = await listIds({ first_name: 'sam', last_name: 'quinn', status: 'all' });
      expect(none).toEqual([]);
    });
  });

  describe('tags', () => {
    const any = (...tags: string[]) => where((u) => tags.some((tag) => u.tags.includes(tag)), 'all').map((u) => u.id);
    const all = (...tags: string[]) => where((u) => tags.every((tag) => u.tags.includes(tag)), 'all').map((u) => u.id);

    it('a single tag', async () => {
      expect(sorted(await listIds({ tags: 'gamma', status: 'all' }))).toEqual(sorted(any('gamma')));
      expect(await listIds({ tags: 'no-such-tag', status: 'all' })).toEqual([]);
    });

    it('a,b: users with any of them', async () => {
      expect(any('iot', 'gamma').length).toBeGreaterThan(all('iot', 'gamma').length);
      expect(sorted(await listIds({ tags: 'iot,gamma', status: 'all' }))).toEqual(sorted(any('iot', 'gamma')));
      expect(sorted(await listIds({ tags: 'beta,special', status: 'all' }))).toEqual(sorted(any('beta', 'special')));
    });

    it('a+b sent as %2B: users with all of them', async () => {
      const expected = sorted(all('iot', 'beta'));
      expect(expected).toEqual(sorted(['sam002', 'iva014'].map((n) => byUsername(n).id)));
      const response = await list('tags=iot%2Bbeta&status=all&limit=100').expect(200);
      expect(sorted(ids(response))).toEqual(expected);
      const three = await list('tags=iot%2Bbeta%2Bgamma&status=all&limit=100').expect(200);
      expect(ids(three)).toEqual([byUsername('iva014').id]);
    });

    it('a+b sent as a literal + (a space once decoded): users with all of them', async () => {
      const response = await list('tags=iot+beta&status=all&limit=100').expect(200);
      expect(sorted(ids(response))).toEqual(sorted(all('iot', 'beta')));
    });
  });

  describe('metadata, user_type, role, status', () => {
    it.each([
      [{ team: 'core' }],
      [{ team: 'edge' }],
      [{ level: { tier: 1 } }],
      [{ level: { zone: 'us' } }],
      [{ team: 'core', level: { zone: 'eu' } }],
      [{ team: 'nobody' }],
      [{ level: { tier: '1' } }],
    ])('metadata=%j is containment', async (pattern) => {
      const expected = where((u) => contains(u.metadata, pattern), 'all').map((u) => u.id);
      expect(sorted(await listIds({ metadata: JSON.stringify(pattern), status: 'all' }))).toEqual(sorted(expected));
    });

    it('metadata nested containment picks exactly the right user', async () => {
      expect(await listIds({ metadata: '{"team":"core","level":{"tier":1}}', status: 'all' })).toEqual([byUsername('sam002').id]);
    });

    it.each(['customer', 'partner', 'employee', 'nobody'])('user_type=%s', async (userType) => {
      const expected = where((u) => u.user_type === userType, 'all').map((u) => u.id);
      expect(sorted(await listIds({ user_type: userType, status: 'all' }))).toEqual(sorted(expected));
    });

    it.each(['admin', 'user'] as Role[])('role=%s', async (role) => {
      const expected = where((u) => u.role === role).map((u) => u.id);
      expect(expected.length).toBeGreaterThan(0);
      expect(sorted(await listIds({ role }))).toEqual(sorted(expected));
    });

    it('role=admin includes the bootstrap admin and the two seeded admins', async () => {
      const expected = [byUsername('admin').id, byUsername('sam004').id, byUsername('mal016').id];
      expect(sorted(await listIds({ role: 'admin', status: 'all' }))).toEqual(sorted(expected));
    });

    it.each(['enabled', 'disabled', 'deleted', 'all'] as const)('status=%s', async (status) => {
      const expected = where(() => true, status);
      const response = await list(qs({ status, limit: 100 })).expect(200);
      expect(response.body.total).toBe(expected.length);
      expect(sorted(ids(response))).toEqual(sorted(expected.map((u) => u.id)));
      for (const user of response.body.users) if (status !== 'all') expect(user.status).toBe(status);
    });

    it('the seeded statuses are what the model says', async () => {
      expect(sorted(await listIds({ status: 'disabled' }))).toEqual(sorted(['sam005', 'fra011'].map((n) => byUsername(n).id)));
      expect(sorted(await listIds({ status: 'deleted' }))).toEqual(sorted(['dav009', 'eve010'].map((n) => byUsername(n).id)));
    });
  });

  describe('created_from / created_to', () => {
    const between = (from?: string, to?: string) =>
      where((u) => (!from || Date.parse(u.created_at) >= Date.parse(from)) && (!to || Date.parse(u.created_at) <= Date.parse(to)), 'all').map(
        (u) => u.id,
      );

    it('both bounds are inclusive', async () => {
      const expected = ['sam003', 'sam004', 'sam005'].map((n) => byUsername(n).id);
      expect(sorted(between(created(3), created(5)))).toEqual(sorted(expected));
      expect(sorted(await listIds({ created_from: created(3), created_to: created(5), status: 'all' }))).toEqual(sorted(expected));
    });

    it('a millisecond past a bound excludes the user on it', async () => {
      const from = '2024-01-03T10:00:00.001Z';
      const to = '2024-01-05T09:59:59.999Z';
      expect(sorted(await listIds({ created_from: from, created_to: to, status: 'all' }))).toEqual([byUsername('sam004').id]);
    });

    it('bounds with a UTC offset mean the same instant', async () => {
      const expected = sorted(between(created(3), created(5)));
      const response = await listIds({ created_from: '2024-01-03T11:00:00+01:00', created_to: '2024-01-05T05:00:00-05:00', status: 'all' });
      expect(sorted(response)).toEqual(expected);
    });

    it('one bound at a time; ties on created_at all match', async () => {
      expect(sorted(await listIds({ created_from: created(22), status: 'all' }))).toEqual(sorted(between(created(22))));
      expect(sorted(await listIds({ created_to: created(2), status: 'all' }))).toEqual(sorted(between(undefined, created(2))));
      const tied = await listIds({ created_from: created(12), created_to: created(12), status: 'all' });
      expect(sorted(tied)).toEqual(sorted(['gra012', 'hei013', 'iva014'].map((n) => byUsername(n).id)));
    });

    it('an empty window answers nothing', async () => {
      expect(await listIds({ created_from: created(5), created_to: created(4), status: 'all' })).toEqual([]);
    });
  });

  describe('order and dir', () => {
    const combos = ORDERS.flatMap((order) => (['asc', 'desc'] as const).map((dir) => [order, dir] as [Order, 'asc' | 'desc']));
    const scope = { tags: 'ord', status: 'all' };

    it.each(combos)('order=%s&dir=%s sorts, breaking ties by id, and pages consistently', async (order, dir) => {
      const pool = where((u) => u.tags.includes('ord'), 'all');
      const whole = await listIds({ ...scope, order, dir });
      expectOrdered(whole, pool, order, dir);

      const pages: string[] = [];
      for (let offset = 0; offset < pool.length + 2; offset += 2) {
        const response = await list(qs({ ...scope, order, dir, offset, limit: 2 })).expect(200);
        expect(response.body).toMatchObject({ total: pool.length, offset, limit: 2 });
        pages.push(...ids(response));
      }
      expect(pages).toEqual(whole);

      const middle = await list(qs({ ...scope, order, dir, offset: 3, limit: 4 })).expect(200);
      expect(ids(middle)).toEqual(whole.slice(3, 7));
    });

    it('dir alone reverses the default order', async () => {
      const pool = where(() => true);
      expectOrdered(ids(await list('dir=asc&limit=100').expect(200)), pool, 'created_at', 'asc');
    });

    it('five users named Sam: the tie is ordered by id, across pages of 2', async () => {
      const sams = where((u) => u.first_name === 'Sam', 'all').map((u) => u.id);
      expect(sams).toHaveLength(5);
      for (const dir of ['asc', 'desc'] as const) {
        const whole = await listIds({ first_name: 'sam', status: 'all', order: 'first_name', dir });
        expect([sorted(sams).join(), sorted(sams).reverse().join()]).toContain(whole.join());
        const pages: string[] = [];
        for (let offset = 0; offset < 6; offset += 2) {
          pages.push(...ids(await list(qs({ first_name: 'sam', status: 'all', order: 'first_name', dir, offset, limit: 2 })).expect(200)));
        }
        expect(pages).toEqual(whole);
      }
    });

    it('the same request answers the same order every time', async () => {
      const first = await listIds({ status: 'all', order: 'updated_at', dir: 'asc' });
      for (let i = 0; i < 3; i++) expect(await listIds({ status: 'all', order: 'updated_at', dir: 'asc' })).toEqual(first);
    });
  });

  describe('pagination', () => {
    it('offset and limit select a window of the whole', async () => {
      const whole = await listIds({ status: 'all' });
      const response = await list('status=all&offset=5&limit=7').expect(200);
      expect(response.body).toMatchObject({ total: model.length, offset: 5, limit: 7 });
      expect(ids(response)).toEqual(whole.slice(5, 12));
      const tail = await list(`status=all&offset=${model.length - 2}&limit=10`).expect(200);
      expect(ids(tail)).toEqual(whole.slice(-2));
    });

    it.each([1, 100])('limit=%d is accepted', async (limit) => {
      const response = await list(`status=all&limit=${limit}`).expect(200);
      expect(response.body.limit).toBe(limit);
      expect(response.body.users).toHaveLength(Math.min(limit, model.length));
    });

    it.each(['0', '101', '-1', 'x', '1.5', ''])('limit=%j is 400 VALIDATION_FAILED', async (limit) => {
      const response = await list(`limit=${limit}`);
      expectError(response, 400, 'VALIDATION_FAILED');
      expect(response.body.details.map((d: { field: string }) => d.field)).toContain('limit');
    });

    it.each(['-1', 'x', '2.5'])('offset=%j is 400 VALIDATION_FAILED', async (offset) => {
      const response = await list(`offset=${offset}`);
      expectError(response, 400, 'VALIDATION_FAILED');
      expect(response.body.details.map((d: { field: string }) => d.field)).toContain('offset');
    });

    it('only_total=true answers the total with no users', async () => {
      const expected = where((u) => u.tags.includes('iot'), 'all').length;
      const response = await list('only_total=true&tags=iot&status=all').expect(200);
      expect(response.body).toEqual({ total: expected, total_exact: true, offset: 0, limit: 10, next_cursor: null, users: [] });
      const whole = await list('only_total=true').expect(200);
      expect(whole.body).toMatchObject({ total: where(() => true).length, users: [] });
    });

    it('only_total=false answers the page', async () => {
      const response = await list('only_total=false&status=all&limit=3').expect(200);
      expect(response.body.users).toHaveLength(3);
      expect(response.body.total).toBe(model.length);
    });
  });

  describe('bad parameters: 400 VALIDATION_FAILED naming the parameter', () => {
    it.each([
      ['an unknown parameter', 'foo=bar', 'foo'],
      ['an unknown parameter next to good ones', 'status=all&sort=email', 'sort'],
      ['a repeated limit', 'limit=1&limit=2', 'limit'],
      ['a repeated name', 'name=a&name=b', 'name'],
      ['a repeated status', 'status=enabled&status=all', 'status'],
      ['a repeated tags', 'tags=a&tags=b', 'tags'],
      ['a bad status', 'status=active', 'status'],
      ['a bad order', 'order=password_hash', 'order'],
      ['order by id', 'order=id', 'order'],
      ['a bad dir', 'dir=up', 'dir'],
      ['a bad role', 'role=root', 'role'],
      ['metadata that is not JSON', `metadata=${encodeURIComponent('{team:core}')}`, 'metadata'],
      ['metadata that is a JSON array', `metadata=${encodeURIComponent('[{"team":"core"}]')}`, 'metadata'],
      ['metadata that is a JSON string', `metadata=${encodeURIComponent('"core"')}`, 'metadata'],
      ['metadata that is JSON null', 'metadata=null', 'metadata'],
      ['metadata that is a JSON number', 'metadata=42', 'metadata'],
      ['created_from that is a word', 'created_from=yesterday', 'created_from'],
      ['created_from with month 13', 'created_from=2024-13-01T00:00:00Z', 'created_from'],
      ['created_from as epoch seconds', 'created_from=1704276000', 'created_from'],
      ['created_to without a UTC offset (not RFC 3339)', 'created_to=2024-01-03T10:00:00', 'created_to'],
      ['created_from as a bare date (not an RFC 3339 date-time)', 'created_from=2024-01-03', 'created_from'],
      ['only_total=maybe', 'only_total=maybe', 'only_total'],
      ['an offset beyond PostgreSQL bigint', 'offset=99999999999999999999', 'offset'],
      ['tags naming no tag (",")', 'tags=,', 'tags'],
      ['tags naming no tag ("+")', 'tags=%2B', 'tags'],
    ])('%s (%s)', async (_, query, field) => {
      const response = await list(query);
      expectError(response, 400, 'VALIDATION_FAILED');
      expect(response.body.details.map((d: { field: string }) => d.field)).toContain(field);
    });
  });
});
