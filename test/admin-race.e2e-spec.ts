/**
 * The last enabled admin stays, also when two admins demote each other at the same moment: each
 * demotion locks the enabled admins (FOR UPDATE) before it counts them. A file of its own: the race
 * needs a database whose only enabled admins are the two of them.
 */
import { TestApp, startTestApp } from './support/test-app';
import { bearer, createUser, login, loginAdmin } from './support/users';

describe('two admins demoting each other at the same moment', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('exactly one succeeds, and one enabled admin remains', async () => {
    const bootstrap = await loginAdmin(t);
    const bootstrapId = (await t.http.get('/users/profile').set(bearer(bootstrap)).expect(200)).body.id as string;
    const [a, b] = [await createUser(t), await createUser(t)];
    for (const user of [a, b]) await t.http.patch(`/users/${user.id}/role`).set(bearer(bootstrap)).send({ role: 'admin' }).expect(200);
    const tokenOf = async (user: typeof a) => (await login(t, user.email, user.password)).accessToken;
    const [tokenA, tokenB] = [await tokenOf(a), await tokenOf(b)];
    await t.http.patch(`/users/${bootstrapId}/role`).set(bearer(tokenA)).send({ role: 'user' }).expect(200);

    // A demotion's transaction lingers a second after its UPDATE, so that both requests are inside
    // their transactions together: only the lock keeps the second from counting two admins too.
    await t.db.query(`CREATE FUNCTION slow_demotion() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(1); RETURN NEW; END $$`);
    await t.db.query(`CREATE TRIGGER slow_demotion BEFORE UPDATE ON users FOR EACH ROW WHEN (OLD.role = 'admin' AND NEW.role = 'user') EXECUTE FUNCTION slow_demotion()`);
    try {
      const answers = await Promise.all([
        t.http.patch(`/users/${b.id}/role`).set(bearer(tokenA)).send({ role: 'user' }),
        t.http.patch(`/users/${a.id}/role`).set(bearer(tokenB)).send({ role: 'user' }),
      ]);
      const outcomes = answers.map((response) => `${response.status} ${response.body.code ?? ''}`.trim()).sort();
      // The loser is refused as the last admin, or (had it come a moment later) as no admin any more.
      expect(outcomes[0]).toBe('200');
      expect(outcomes[1]).toMatch(/^(409 LAST_ADMIN|403 FORBIDDEN)$/);
      const { rows } = await t.db.query(`SELECT id FROM users WHERE role = 'admin' AND status = 'enabled'`);
      expect(rows).toHaveLength(1);
      expect([a.id, b.id]).toContain(rows[0].id);
    } finally {
      await t.db.query('DROP TRIGGER slow_demotion ON users');
      await t.db.query('DROP FUNCTION slow_demotion()');
    }
  });
});
