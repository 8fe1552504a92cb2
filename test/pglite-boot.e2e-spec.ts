import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startBuiltApp } from './support/built-app';

/**
 * Runs SQL on a PGlite data directory in a process of its own (PGlite loads its WASM by dynamic
 * import, which jest's sandbox refuses) and answers each statement's rows.
 */
function pglite(dataDir: string, statements: string[]): Record<string, unknown>[][] {
  const script = `
    const { PGlite } = require('@electric-sql/pglite');
    const { pg_trgm } = require('@electric-sql/pglite/contrib/pg_trgm');
    (async () => {
      const db = new PGlite(process.argv[1], { extensions: { pg_trgm } });
      const results = [];
      for (const statement of JSON.parse(process.argv[2])) results.push((await db.query(statement)).rows);
      await db.close();
      process.stdout.write(JSON.stringify(results));
    })();`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script, dataDir, JSON.stringify(statements)], { cwd: join(__dirname, '..'), encoding: 'utf8', timeout: 90_000 }));
}

const ENV = {
  USERS_DB_DRIVER: 'pglite',
  USERS_SECRET_KEY: 'pglite-boot-test-secret-key-0123456789abcdef',
  USERS_ADMIN_EMAIL: 'admin@example.com',
  USERS_ADMIN_PASSWORD: 'admin-password-for-pglite',
  USERS_ALLOW_UNVERIFIED_USER: 'true',
  USERS_LOG_LEVEL: 'warn',
};

const json = (body: unknown) => ({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

/** The zero-infrastructure mode: the built service on embedded PostgreSQL, running the same migrations (indexes included). */
describe('PGlite (USERS_DB_DRIVER=pglite)', () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'users-pglite-')), 'nested', 'pglite');
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('boots on an empty data directory, serves the API, and keeps its data across a restart', async () => {
    const first = await startBuiltApp({ ...ENV, USERS_DB_PGLITE_DIR: dataDir }, 240_000);
    try {
      const created = await fetch(`${first.url}/users`, json({ first_name: 'Grace', last_name: 'Hopper', email: 'grace@example.com', credentials: { username: 'grace', secret: 'cobol-forever' }, tags: ['navy', 'cobol'] }));
      expect(created.status).toBe(201);
      const admin = (await (await fetch(`${first.url}/users/tokens/issue`, json({ identity: ENV.USERS_ADMIN_EMAIL, secret: ENV.USERS_ADMIN_PASSWORD }))).json()) as { access_token: string };
      // A substring filter and tag filters (any of, all of) work on PGlite; the indexes are checked below.
      for (const query of ['name=opp', 'tags=cobol,fortran', 'tags=cobol%2Bnavy', 'name=opp&tags=navy']) {
        const list = (await (await fetch(`${first.url}/users?${query}&status=all`, { headers: { Authorization: `Bearer ${admin.access_token}` } })).json()) as { users: { email: string }[] };
        expect({ query, emails: list.users.map((u) => u.email) }).toEqual({ query, emails: ['grace@example.com'] });
      }
      const none = (await (await fetch(`${first.url}/users?tags=fortran&status=all`, { headers: { Authorization: `Bearer ${admin.access_token}` } })).json()) as { users: unknown[] };
      expect(none.users).toEqual([]);
      expect((await fetch(`${first.url}/docs-json`)).status).toBe(200);
    } finally {
      await first.stop();
    }

    const second = await startBuiltApp({ ...ENV, USERS_DB_PGLITE_DIR: dataDir }, 240_000);
    try {
      const login = await fetch(`${second.url}/users/tokens/issue`, json({ identity: 'grace', secret: 'cobol-forever' }));
      expect(login.status).toBe(201);
    } finally {
      await second.stop();
    }

    // The migration made the trigram and GIN indexes here too, and PGlite's planner uses them for
    // these filters (sequential and ordered index scans off: on a handful of rows it would rightly prefer
    // one, reading the whole table or a whole btree with the filter on each row).
    const explain = (where: string) => `EXPLAIN SELECT id FROM users u WHERE ${where}`;
    const [indexes, , , , ...plans] = pglite(dataDir, [
      `SELECT indexname FROM pg_indexes WHERE tablename = 'users' AND indexdef LIKE '%USING gin%' ORDER BY indexname`,
      'SET enable_seqscan = off',
      'SET enable_indexscan = off',
      'SET enable_indexonlyscan = off',
      explain(`u.first_name ILIKE '%opp%'`),
      explain(`u.tags && ARRAY['cobol']::text[]`),
      explain(`u.tags @> ARRAY['cobol', 'navy']::text[]`),
    ]);
    expect(indexes.map((row) => row.indexname)).toEqual(['users_email_trgm', 'users_first_name_trgm', 'users_last_name_trgm', 'users_metadata_gin', 'users_tags_gin', 'users_username_trgm']);
    const [byName, anyTag, allTags] = plans.map((rows) => rows.map((row) => row['QUERY PLAN']).join('\n'));
    expect(byName).toContain('Bitmap Index Scan on users_first_name_trgm');
    expect(anyTag).toContain('Bitmap Index Scan on users_tags_gin');
    expect(allTags).toContain('Bitmap Index Scan on users_tags_gin');
  }, 600_000);
});
