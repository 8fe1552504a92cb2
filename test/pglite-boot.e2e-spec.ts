import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBuiltApp } from './support/built-app';

const ENV = {
  USERS_DB_DRIVER: 'pglite',
  USERS_SECRET_KEY: 'pglite-boot-test-secret-key-0123456789abcdef',
  USERS_ADMIN_EMAIL: 'admin@example.com',
  USERS_ADMIN_PASSWORD: 'admin-password-for-pglite',
  USERS_ALLOW_UNVERIFIED_USER: 'true',
  USERS_LOG_LEVEL: 'warn',
};

const json = (body: unknown) => ({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

/** The zero-infrastructure mode: the built service on embedded PostgreSQL, running the same migrations. */
describe('PGlite (USERS_DB_DRIVER=pglite)', () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'users-pglite-')), 'nested', 'pglite');
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('boots on an empty data directory, serves the API, and keeps its data across a restart', async () => {
    const first = await startBuiltApp({ ...ENV, USERS_DB_PGLITE_DIR: dataDir });
    try {
      const created = await fetch(`${first.url}/users`, json({ first_name: 'Grace', last_name: 'Hopper', email: 'grace@example.com', credentials: { username: 'grace', secret: 'cobol-forever' } }));
      expect(created.status).toBe(201);
      const admin = (await (await fetch(`${first.url}/users/tokens/issue`, json({ identity: ENV.USERS_ADMIN_EMAIL, secret: ENV.USERS_ADMIN_PASSWORD }))).json()) as { access_token: string };
      // A substring filter and a tag filter: the migration's pg_trgm and GIN indexes exist here too.
      const list = (await (await fetch(`${first.url}/users?name=opp&status=all`, { headers: { Authorization: `Bearer ${admin.access_token}` } })).json()) as { users: { email: string }[] };
      expect(list.users.map((u) => u.email)).toEqual(['grace@example.com']);
      expect((await fetch(`${first.url}/docs-json`)).status).toBe(200);
    } finally {
      await first.stop();
    }

    const second = await startBuiltApp({ ...ENV, USERS_DB_PGLITE_DIR: dataDir });
    try {
      const login = await fetch(`${second.url}/users/tokens/issue`, json({ identity: 'grace', secret: 'cobol-forever' }));
      expect(login.status).toBe(201);
    } finally {
      await second.stop();
    }
  }, 120_000);
});
