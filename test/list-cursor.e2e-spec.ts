import request from 'supertest';
import { ListCursors } from '../src/users/list-cursor';
import { SECRET_KEY, TestApp, startTestApp } from './support/test-app';
import { bearer, loginAdmin } from './support/users';

/**
 * Keyset paging (`cursor` / `next_cursor`) of GET /users and GET /users/search, and the `total` rule
 * (exact up to USERS_DB_EXACT_TOTAL_LIMIT, set to 5 here; past it the planner's estimate, flagged).
 * The population has what breaks naive keysets: runs of equal sort keys (ties broken by id), instants
 * equal to the microsecond and others apart by one microsecond only (a JS Date would merge them), and
 * users without a username (NULL sorts last ascending, first descending). Expected orders are asked of
 * PostgreSQL itself, so that they do not depend on the database's collation.
 */

type Response = request.Response;
const ORDERS = ['created_at', 'updated_at', 'first_name', 'last_name', 'username', 'email'] as const;
const EXACT_TOTAL_LIMIT = 5;
const SEEDED = 60;

function expectError(response: Response, status: number, code: string) {
  expect({ status: response.status, code: response.body?.code }).toEqual({ status, code });
}

describe('GET /users and /users/search: cursors and total (e2e)', () => {
  let t: TestApp;
  let admin: string;
  let inserted = 0;

  /** A user written straight to the table (the walk tests insert while they page). */
  async function insertUser(n: number, status = 'enabled') {
    const first = ['ann', 'bob', 'cy'][n % 3];
    const last = ['lee', 'moe'][n % 2];
    // Every fourth user has no username; instants repeat in runs of three, and some differ by 1 µs.
    const username = n % 4 === 0 ? null : `u${String(n % 17).padStart(2, '0')}x${n}`;
    await t.db.query(
      `INSERT INTO users (first_name, last_name, email, username, tags, status, created_at, updated_at, verified_at)
       VALUES ($1, $2, $3, $4, $5, $6,
               timestamptz '2024-05-01 10:00:00.000001+00' + make_interval(secs => ($7::int / 3) * 0.000001),
               timestamptz '2024-06-01 00:00:00+00' + make_interval(secs => ($7::int % 5)), now())`,
      [first, last, `user${n}@cursor.test`, username, n % 2 === 0 ? ['even'] : ['odd'], status, n],
    );
  }

  beforeAll(async () => {
    t = await startTestApp({ env: { USERS_DB_EXACT_TOTAL_LIMIT: String(EXACT_TOTAL_LIMIT) } });
    admin = await loginAdmin(t);
    for (; inserted < SEEDED; inserted++) await insertUser(inserted, inserted % 10 === 9 ? 'disabled' : 'enabled');
  });
  afterAll(() => t.close());

  const get = (path: string, params: Record<string, string | number | undefined>) => {
    const query = Object.entries(params)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${key}=${encodeURIComponent(String(value))}`)
      .join('&');
    return t.http.get(`${path}?${query}`).set(bearer(admin));
  };

  /** Ids in PostgreSQL's own order for `order`/`dir` (ties by id in the same direction). */
  async function databaseOrder(ids: string[], order: string, dir: 'asc' | 'desc'): Promise<string[]> {
    const { rows } = await t.db.query(`SELECT id FROM users WHERE id = ANY($1::uuid[]) ORDER BY ${order} ${dir}, id ${dir}`, [ids]);
    return rows.map((row: { id: string }) => row.id);
  }

  /** Pages through by cursor, inserting `insertsPerPage` users while each page is asked for. */
  async function walk(path: string, params: Record<string, string | number>, insertsPerPage: number): Promise<{ ids: string[]; pages: number }> {
    const ids: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const inserts = Array.from({ length: insertsPerPage }, () => insertUser(inserted++));
      const [response] = await Promise.all([get(path, { ...params, cursor }), ...inserts]);
      expect(response.status).toBe(200);
      expect(response.body.offset).toBe(0);
      ids.push(...response.body.users.map((u: { id: string }) => u.id));
      cursor = response.body.next_cursor ?? undefined;
      if (cursor !== undefined) expect(response.body.users).toHaveLength(Number(params.limit));
      pages++;
      expect(pages).toBeLessThan(200);
    } while (cursor !== undefined);
    return { ids, pages };
  }

  async function enabledIds(): Promise<string[]> {
    const { rows } = await t.db.query(`SELECT id FROM users WHERE status = 'enabled'`);
    return rows.map((row: { id: string }) => row.id);
  }

  describe.each(ORDERS.flatMap((order) => (['asc', 'desc'] as const).map((dir) => [order, dir] as const)))('order=%s dir=%s', (order, dir) => {
    it('a quiet walk by cursor is the whole table in its order, and page 2 is the offset listing page 2', async () => {
      const { rows } = await t.db.query(`SELECT id FROM users ORDER BY ${order} ${dir}, id ${dir}`);
      const { ids } = await walk('/users', { order, dir, limit: 7, status: 'all' }, 0);
      expect(ids).toEqual(rows.map((row: { id: string }) => row.id));
      const byOffset = await get('/users', { order, dir, limit: 7, offset: 7, status: 'all' }).expect(200);
      expect(byOffset.body.users.map((u: { id: string }) => u.id)).toEqual(ids.slice(7, 14));
    });

    it('a walk with inserts meanwhile returns every row that was there exactly once, in order', async () => {
      const before = await enabledIds();
      const { ids } = await walk('/users', { order, dir, limit: 10 }, 1);
      expect(new Set(ids).size).toBe(ids.length);
      expect(before.filter((id) => !ids.includes(id))).toEqual([]);
      expect(ids).toEqual(await databaseOrder(ids, order, dir));
    });
  });

  it('GET /users/search walks by cursor too (username, users without one last), with inserts meanwhile', async () => {
    const { rows } = await t.db.query(`SELECT id FROM users WHERE status = 'enabled' AND first_name ILIKE '%n%'`);
    const before = rows.map((row: { id: string }) => row.id);
    const { ids } = await walk('/users/search', { first_name: 'n', limit: 4 }, 1);
    expect(new Set(ids).size).toBe(ids.length);
    expect(before.filter((id) => !ids.includes(id))).toEqual([]);
    expect(ids).toEqual(await databaseOrder(ids, 'username', 'asc'));
    const { rows: nulls } = await t.db.query(`SELECT count(*)::int AS n FROM users WHERE id = ANY($1::uuid[]) AND username IS NULL`, [ids]);
    expect(nulls[0].n).toBeGreaterThan(0);
  });

  it('the first page by offset gives a cursor that continues where it ends; filters may change along the way', async () => {
    const first = await get('/users', { order: 'first_name', dir: 'asc', limit: 5, offset: 0 }).expect(200);
    const next = await get('/users', { order: 'first_name', dir: 'asc', limit: 5, cursor: first.body.next_cursor }).expect(200);
    const byOffset = await get('/users', { order: 'first_name', dir: 'asc', limit: 5, offset: 5 }).expect(200);
    expect(next.body.users.map((u: { id: string }) => u.id)).toEqual(byOffset.body.users.map((u: { id: string }) => u.id));
    const filtered = await get('/users', { order: 'first_name', dir: 'asc', limit: 100, tags: 'even', cursor: first.body.next_cursor }).expect(200);
    for (const user of filtered.body.users) expect(user.tags).toEqual(['even']);
  });

  describe('a cursor this service did not issue for this listing is a 400 VALIDATION_FAILED', () => {
    let cursor: string;
    beforeAll(async () => {
      cursor = (await get('/users', { order: 'email', dir: 'asc', limit: 2 }).expect(200)).body.next_cursor;
      expect(typeof cursor).toBe('string');
    });

    const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);

    it.each([
      ['one character changed (iv, tag, ciphertext)', (c: string) => [flip(c, 0), flip(c, 20), flip(c, c.length - 1)]],
      ['cut short or extended', (c: string) => [c.slice(0, -4), c.slice(0, 10), `${c}AAAA`, 'A']],
      ['plain base64url JSON', () => [Buffer.from(JSON.stringify({ s: 'list', o: 'email', d: 'asc', k: 'a', i: '00000000-0000-4000-8000-000000000000' })).toString('base64url')]],
      ['sealed under another key', () => [new ListCursors('another-secret-key-that-is-long-enough-987654').encode('list', 'email', 'asc', { key: 'a', id: '00000000-0000-4000-8000-000000000000' })]],
      ['not base64url at all', () => ['not a cursor!', '%00', '../../etc']],
    ])('%s', async (_, make) => {
      for (const bad of make(cursor)) {
        const response = await get('/users', { order: 'email', dir: 'asc', limit: 2, cursor: bad });
        expectError(response, 400, 'VALIDATION_FAILED');
        expect(response.body.details?.[0]?.field).toBe('cursor');
      }
    });

    it('another order or direction, the other listing, or beside an offset', async () => {
      expectError(await get('/users', { order: 'email', dir: 'desc', limit: 2, cursor }), 400, 'VALIDATION_FAILED');
      expectError(await get('/users', { order: 'created_at', dir: 'asc', limit: 2, cursor }), 400, 'VALIDATION_FAILED');
      expectError(await get('/users', { limit: 2, cursor }), 400, 'VALIDATION_FAILED');
      expectError(await get('/users/search', { username: 'u01', cursor }), 400, 'VALIDATION_FAILED');
      const offset = await get('/users', { order: 'email', dir: 'asc', limit: 2, offset: 2, cursor });
      expectError(offset, 400, 'VALIDATION_FAILED');
      expect(offset.body.details).toEqual([{ field: 'offset', problem: 'must be 0 with a cursor' }]);
      const search = (await get('/users/search', { username: 'u01', limit: 1 }).expect(200)).body.next_cursor;
      expectError(await get('/users', { order: 'username', dir: 'asc', cursor: search }), 400, 'VALIDATION_FAILED');
    });

    it('a well-formed cursor for a row deleted since still pages on from its place', async () => {
      const known = new ListCursors(SECRET_KEY).encode('list', 'email', 'asc', { key: 'user3@cursor.test', id: '00000000-0000-4000-8000-000000000000' });
      const response = await get('/users', { order: 'email', dir: 'asc', limit: 100, cursor: known }).expect(200);
      const { rows } = await t.db.query(
        `SELECT id FROM users WHERE status = 'enabled' AND (email, id) > ('user3@cursor.test', '00000000-0000-4000-8000-000000000000') ORDER BY email, id`,
      );
      expect(rows.length).toBeGreaterThan(0);
      expect(response.body.users.map((u: { id: string }) => u.id)).toEqual(rows.map((row: { id: string }) => row.id));
    });
  });

  describe(`total: exact up to USERS_DB_EXACT_TOTAL_LIMIT (${EXACT_TOTAL_LIMIT} here), then estimated and flagged`, () => {
    it('exact at and below the limit', async () => {
      const none = await get('/users', { username: 'zz' }).expect(200);
      expect(none.body).toEqual({ total: 0, total_exact: true, offset: 0, limit: 10, next_cursor: null, users: [] });
      await insertUserNamed(['zz1', 'zz2', 'zz3']);
      expect((await get('/users', { username: 'zz', limit: 2 }).expect(200)).body).toMatchObject({ total: 3, total_exact: true });
      await insertUserNamed(['zz4', 'zz5']);
      const five = await get('/users', { username: 'zz' }).expect(200);
      expect(five.body).toMatchObject({ total: EXACT_TOTAL_LIMIT, total_exact: true, next_cursor: null });
      expect(five.body.users).toHaveLength(EXACT_TOTAL_LIMIT);
    });

    it('past the limit: a number (the estimate, at least the limit + 1), total_exact false, on both listings and with only_total', async () => {
      const { rows } = await t.db.query(`SELECT count(*)::int AS n FROM users WHERE status = 'enabled'`);
      expect(rows[0].n).toBeGreaterThan(EXACT_TOTAL_LIMIT);
      await insertUserNamed(['zz6']);
      for (const response of [
        await get('/users', { username: 'zz' }).expect(200),
        await get('/users', {}).expect(200),
        await get('/users', { only_total: 'true' }).expect(200),
        await get('/users/search', { first_name: 'n' }).expect(200),
      ]) {
        expect(response.body.total_exact).toBe(false);
        expect(Number.isInteger(response.body.total)).toBe(true);
        expect(response.body.total).toBeGreaterThan(EXACT_TOTAL_LIMIT);
      }
    });

    async function insertUserNamed(usernames: string[]) {
      for (const username of usernames) {
        await t.db.query(`INSERT INTO users (first_name, last_name, email, username) VALUES ('zed', 'zed', $1, $2)`, [`${username}@cursor.test`, username]);
      }
    }
  });

  describe('a filter whose matches the planner can only guess: the order walked first, then the matches sorted', () => {
    // Newer than every other user here: `dense` every third of the 2,000 newest (a walk of the order's
    // first 1,000 entries finds its page, newest first), `late` two of them and the 50 oldest (newest
    // first, the walk finds one: not a page, so the matches are then fetched and sorted); `three` three.
    beforeAll(async () => {
      await t.db.query(
        `INSERT INTO users (first_name, last_name, email, username, metadata, status, created_at)
         SELECT (ARRAY['ann', 'bob', 'cy', 'dee'])[1 + i % 4], (ARRAY['lee', 'moe', 'ng'])[1 + i % 3], 'walk' || i || '@cursor.test',
                CASE WHEN i % 5 = 0 THEN NULL ELSE 'walk' || i END,
                CASE WHEN i > 2550 OR i IN (700, 1400) THEN '{"walk": "late"}' WHEN i IN (10, 20, 40) THEN '{"walk": "three"}' WHEN i % 3 = 0 AND i <= 2000 THEN '{"walk": "dense"}' ELSE '{}' END::jsonb,
                CASE WHEN i % 10 = 9 THEN 'disabled' ELSE 'enabled' END,
                timestamptz '2030-01-01 00:00:00+00' - make_interval(secs => i)
         FROM generate_series(1, 2600) AS i`,
      );
      // Without statistics of the column the planner guesses a containment's matches (1 % of the rows),
      // as it does with them for values that its sample lacks.
      await t.db.query('ALTER TABLE users ALTER COLUMN metadata SET STATISTICS 0');
      await t.db.query('ANALYZE users');
    });

    const expected = async (metadata: string, order: string, dir: string, offset: number, limit: number): Promise<string[]> => {
      const { rows } = await t.db.query(`SELECT id FROM users WHERE metadata @> $1::jsonb AND status = 'enabled' ORDER BY ${order} ${dir}, id ${dir} OFFSET $2 LIMIT $3`, [metadata, offset, limit]);
      return rows.map((row: { id: string }) => row.id);
    };

    it('the premise: the planner would sort the late matches (it expects few), so the app walks first', async () => {
      const { rows } = await t.db.query(`EXPLAIN (FORMAT JSON) SELECT 1 FROM users u WHERE u.status = 'enabled' AND u.metadata @> '{"walk": "late"}' ORDER BY created_at DESC, id DESC LIMIT 11`);
      expect(JSON.stringify(rows[0]['QUERY PLAN'])).toContain('"Node Type":"Sort"');
    });

    it.each(ORDERS.flatMap((order) => (['asc', 'desc'] as const).flatMap((dir) => ['dense', 'late'].map((value) => [value, order, dir] as const))))(
      'metadata {"walk": "%s"}, order=%s dir=%s: the pages PostgreSQL gives, by offset and by cursor',
      async (value, order, dir) => {
        const metadata = JSON.stringify({ walk: value });
        const first = (await get('/users', { metadata, order, dir, limit: 10 }).expect(200)).body;
        expect(first.users.map((user: { id: string }) => user.id)).toEqual(await expected(metadata, order, dir, 0, 10));
        const later = (await get('/users', { metadata, order, dir, offset: 15, limit: 10 }).expect(200)).body;
        expect(later.users.map((user: { id: string }) => user.id)).toEqual(await expected(metadata, order, dir, 15, 10));
        const next = (await get('/users', { metadata, order, dir, cursor: first.next_cursor, limit: 10 }).expect(200)).body;
        expect(next.users.map((user: { id: string }) => user.id)).toEqual(await expected(metadata, order, dir, 10, 10));
      },
    );

    describe('total, counted to 100', () => {
      let guessing: TestApp;
      let guessingAdmin: string;
      const countOf = async (metadata: string) => Number((await t.db.query(`SELECT count(*) FROM users WHERE metadata @> $1::jsonb AND status = 'enabled'`, [metadata])).rows[0].count);

      beforeAll(async () => {
        guessing = await startTestApp({ database: t.database, env: { USERS_DB_EXACT_TOTAL_LIMIT: '100' } });
        guessingAdmin = await loginAdmin(guessing);
      });
      afterAll(() => guessing.close());

      it('the premise: the planner expects at most 100 matches of either value, and would sort them', async () => {
        for (const value of ['dense', 'late']) {
          const { rows } = await t.db.query(`EXPLAIN (FORMAT JSON) SELECT 1 FROM users u WHERE u.status = 'enabled' AND u.metadata @> $1::jsonb ORDER BY created_at DESC, id DESC LIMIT 11`, [JSON.stringify({ walk: value })]);
          const [{ Plan: limited }] = rows[0]['QUERY PLAN'];
          expect(limited.Plans[0]['Plan Rows']).toBeLessThanOrEqual(100);
          expect(JSON.stringify(limited)).toContain('"Node Type":"Sort"');
        }
      });

      it('a page that is not full is its own total, exact, whatever the planner expected', async () => {
        const three = JSON.stringify({ walk: 'three' });
        const { rows } = await t.db.query(`EXPLAIN (FORMAT JSON) SELECT 1 FROM users u WHERE u.status = 'enabled' AND u.metadata @> $1::jsonb`, [three]);
        expect(rows[0]['QUERY PLAN'][0].Plan['Plan Rows']).toBeGreaterThan(EXACT_TOTAL_LIMIT);
        const page = (await get('/users', { metadata: three }).expect(200)).body;
        expect(page).toMatchObject({ total: 3, total_exact: true, next_cursor: null });
        expect(page.users).toHaveLength(3);
      });

      it('a page that the newest users hold belies the estimate: the total is a sample (here the whole table), flagged; otherwise counted', async () => {
        const list = async (metadata: string) => (await guessing.http.get(`/users?metadata=${encodeURIComponent(metadata)}`).set(bearer(guessingAdmin)).expect(200)).body;
        const dense = JSON.stringify({ walk: 'dense' });
        expect(await list(dense)).toMatchObject({ total: await countOf(dense), total_exact: false });
        const late = JSON.stringify({ walk: 'late' });
        expect(await list(late)).toMatchObject({ total: await countOf(late), total_exact: true });
      });
    });
  });

  describe('a deep offset (from 1,000 on the page is found as ids first, then their rows)', () => {
    const DEEP = 1200;

    beforeAll(async () => {
      // One tag for these users only; instants in runs of three, a few names and every fifth username missing.
      await t.db.query(
        `INSERT INTO users (first_name, last_name, email, username, tags, status, created_at)
         SELECT (ARRAY['ann', 'bob', 'cy'])[1 + i % 3], 'deep', 'deep' || i || '@cursor.test', CASE WHEN i % 5 = 0 THEN NULL ELSE 'deep' || i END,
                '{deep}', CASE WHEN i % 10 = 9 THEN 'disabled' ELSE 'enabled' END,
                timestamptz '2024-03-01 00:00:00+00' + make_interval(secs => (i / 3) * 0.000001)
         FROM generate_series(1, $1::int) AS i`,
        [DEEP],
      );
    });

    async function expected(order: string, dir: string, status: string, offset: number, limit: number): Promise<string[]> {
      const { rows } = await t.db.query(
        `SELECT id FROM users WHERE tags @> '{deep}' AND ($1 = 'all' OR status = $1) ORDER BY ${order} ${dir}, id ${dir} OFFSET $2 LIMIT $3`,
        [status, offset, limit],
      );
      return rows.map((row: { id: string }) => row.id);
    }

    // The same users by a tag, and by a name: under a name filter, a name's order is found by sorting the
    // matches rather than walking its index (UsersRepository.rows()): the same rows either way.
    it.each(['created_at', 'first_name', 'username', 'email'].flatMap((order) => ['asc', 'desc'].flatMap((dir) => ['tags', 'last_name'].map((filter) => [order, dir, filter]))))(
      'order=%s dir=%s, filtered by %s: the same rows as PostgreSQL skips to, and the cursor goes on from there',
      async (order, dir, filter) => {
        for (const status of ['enabled', 'all']) {
          const page = (await get('/users', { [filter]: 'deep', status, order, dir, offset: 1000, limit: 7 }).expect(200)).body;
          expect(page.users).toHaveLength(7);
          expect(page.users.map((user: { id: string }) => user.id)).toEqual(await expected(order, dir, status, 1000, 7));
          const next = (await get('/users', { [filter]: 'deep', status, order, dir, cursor: page.next_cursor, limit: 7 }).expect(200)).body;
          expect(next.users.map((user: { id: string }) => user.id)).toEqual(await expected(order, dir, status, 1007, 7));
          const first = (await get('/users', { [filter]: 'deep', status, order, dir, limit: 7 }).expect(200)).body;
          expect(first.users.map((user: { id: string }) => user.id)).toEqual(await expected(order, dir, status, 0, 7));
        }
      },
    );

    it('the last page has the rows left and no next_cursor; past the end, none', async () => {
      const last = (await get('/users', { tags: 'deep', status: 'all', offset: DEEP - 3, limit: 10 }).expect(200)).body;
      expect(last).toMatchObject({ offset: DEEP - 3, limit: 10, next_cursor: null });
      expect(last.users.map((user: { id: string }) => user.id)).toEqual(await expected('created_at', 'desc', 'all', DEEP - 3, 10));
      expect(last.users).toHaveLength(3);
      const past = (await get('/users', { tags: 'deep', status: 'all', offset: DEEP, limit: 10 }).expect(200)).body;
      expect(past).toMatchObject({ users: [], next_cursor: null });
    });
  });
});
