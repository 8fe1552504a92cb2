/**
 * One purge round (PurgeService.purgeDeletedUsers) run here, on the app's own database, and what it
 * reports: which users go, that each failure is counted once and ends nothing, that the keyset walks
 * past users it cannot purge (also 100 or more deleted at one microsecond), and that a failed
 * commit surfaces. The focused specs of the `purge` mutation module (docs/mutation-testing.md);
 * test/scheduler.e2e-spec.ts covers the schedule, the lock between replicas and the cleanup.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { PurgeReport, PurgeService } from '../src/scheduler/purge.service';
import { PG } from './support/postgres';
import { TestApp, startTestApp } from './support/test-app';

/** A moment with microseconds, long enough ago for USERS_DELETE_AFTER=1h. */
const LONG_AGO = '2020-01-01 00:00:00.123456+00';

describe('a purge round', () => {
  let t: TestApp;

  // The schedule's own rounds stay 24 h apart: each test runs its rounds itself.
  beforeAll(async () => {
    t = await startTestApp({ env: { USERS_DELETE_AFTER: '1h' } });
  });
  afterAll(() => t.close());

  async function round(): Promise<PurgeReport> {
    const runner = t.app.get(DataSource).createQueryRunner();
    try {
      return await t.app.get(PurgeService).purgeDeletedUsers(runner);
    } finally {
      await runner.release();
    }
  }

  /** `count` users of the given status and deleted_at, e-mails starting with `prefix`; their ids. */
  async function users(prefix: string, count: number, status: string, deletedAt: string | null): Promise<string[]> {
    const { rows } = await t.db.query<{ id: string }>(
      `INSERT INTO users (first_name, last_name, email, status, deleted_at)
       SELECT 'Old', 'User', $1 || g || '@example.com', $2, $3::timestamptz FROM generate_series(1, $4::int) AS g RETURNING id`,
      [`${prefix}-${randomBytes(4).toString('hex')}-`, status, deletedAt, count],
    );
    return rows.map((row) => row.id);
  }

  const left = async (ids: string[]) => (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE id = ANY($1)`, [ids])).rows[0].n;
  const purgeEvents = async (ids: string[]) =>
    (await t.db.query(`SELECT user_id, actor_id, request_id, data FROM outbox_events WHERE operation = 'user.purge' AND user_id = ANY($1) ORDER BY seq`, [ids])).rows;

  /** A BEFORE DELETE trigger on users doing `body` (plpgsql) for the ids given; dropped by the returned function. */
  async function onDelete(ids: string[], body: string): Promise<() => Promise<void>> {
    const name = `purge_test_${randomBytes(4).toString('hex')}`;
    await t.db.query(`
      CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF OLD.id = ANY('{${ids.join(',')}}'::uuid[]) THEN ${body}; END IF;
        RETURN OLD;
      END $$`);
    await t.db.query(`CREATE TRIGGER ${name} BEFORE DELETE ON users FOR EACH ROW EXECUTE FUNCTION ${name}()`);
    return async () => {
      await t.db.query(`DROP TRIGGER ${name} ON users`);
      await t.db.query(`DROP FUNCTION ${name}()`);
    };
  }

  it('purges the users deleted at least USERS_DELETE_AFTER ago, each with a user.purge event by the system, and only them', async () => {
    const old = [...(await users('old', 2, 'deleted', LONG_AGO)), ...(await users('hours', 1, 'deleted', new Date(Date.now() - 2 * 3600_000).toISOString()))];
    const young = await users('young', 1, 'deleted', new Date(Date.now() - 50 * 60_000).toISOString());
    const notDeleted = [...(await users('disabled', 1, 'disabled', LONG_AGO)), ...(await users('enabled', 1, 'enabled', LONG_AGO))];

    expect(await round()).toEqual({ purged: 3, failed: 0 });
    expect(await left(old)).toBe(0);
    const events = await purgeEvents(old);
    expect(events.map((event) => event.user_id).sort()).toEqual([...old].sort());
    for (const event of events) expect(event).toMatchObject({ actor_id: null, request_id: null, data: {} });
    expect(await left([...young, ...notDeleted])).toBe(3);
    expect(await purgeEvents([...young, ...notDeleted])).toEqual([]);
    // Nothing left to do: a round reports nothing.
    expect(await round()).toEqual({ purged: 0, failed: 0 });
    await t.db.query(`DELETE FROM users WHERE id = ANY($1)`, [[...young, ...notDeleted]]);
  });

  it('purges 250 users in one round (three batches of at most 100)', async () => {
    const ids = await users('batch', 250, 'deleted', LONG_AGO);
    expect(await round()).toEqual({ purged: 250, failed: 0 });
    expect(await left(ids)).toBe(0);
    expect(await purgeEvents(ids)).toHaveLength(250);
  });

  it('counts each user it cannot purge once, purges the others, and ends the round — also with 150 of them deleted at one microsecond', async () => {
    // One deleted_at for all (with microseconds): the keyset must carry it exactly, or each full batch
    // takes its last users again and the round never ends.
    const stuck = await users('stuck', 150, 'deleted', LONG_AGO);
    const others = await users('others', 30, 'deleted', LONG_AGO);
    const drop = await onDelete(stuck, `RAISE EXCEPTION 'this user cannot be purged'`);
    try {
      expect(await round()).toEqual({ purged: 30, failed: 150 });
      expect(await left(others)).toBe(0);
      expect(await purgeEvents(others)).toHaveLength(30);
      expect(await left(stuck)).toBe(150);
      expect(await purgeEvents(stuck)).toEqual([]);
    } finally {
      await drop();
    }
    // The next round tries them again.
    expect(await round()).toEqual({ purged: 150, failed: 0 });
    expect(await purgeEvents(stuck)).toHaveLength(150);
  }, 60_000);

  it('records no event, and counts a failure, when the DELETE removed nothing', async () => {
    const [kept] = await users('kept', 1, 'deleted', LONG_AGO);
    const purged = await users('purged', 2, 'deleted', LONG_AGO);
    // A trigger that skips the row: the statement succeeds and deletes nothing.
    const drop = await onDelete([kept], 'RETURN NULL');
    try {
      expect(await round()).toEqual({ purged: 2, failed: 1 });
      expect(await left([kept])).toBe(1);
      expect(await purgeEvents([kept])).toEqual([]);
      expect(await purgeEvents(purged)).toHaveLength(2);
    } finally {
      await drop();
    }
    expect(await round()).toEqual({ purged: 1, failed: 0 });
  });

  it('skips a user another transaction holds (another replica purging it), and takes it in a later round', async () => {
    const [held] = await users('held', 1, 'deleted', LONG_AGO);
    const free = await users('free', 2, 'deleted', LONG_AGO);
    const other = new Client({ ...PG, database: t.database });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [held]);
      expect(await round()).toEqual({ purged: 2, failed: 0 });
      expect(await left(free)).toBe(0);
      await other.query('ROLLBACK');
    } finally {
      await other.end();
    }
    expect(await round()).toEqual({ purged: 1, failed: 0 });
  });

  it('rolls back and rethrows when a batch cannot commit; the connection serves the next round', async () => {
    const ids = await users('commit', 3, 'deleted', LONG_AGO);
    // A deferred constraint trigger fails the COMMIT itself, after every DELETE succeeded.
    await t.db.query(`
      CREATE FUNCTION purge_test_refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'the commit is refused'; END $$`);
    await t.db.query(`
      CREATE CONSTRAINT TRIGGER purge_test_refuse_commit AFTER DELETE ON users DEFERRABLE INITIALLY DEFERRED
      FOR EACH ROW EXECUTE FUNCTION purge_test_refuse_commit()`);
    const runner = t.app.get(DataSource).createQueryRunner();
    try {
      await expect(t.app.get(PurgeService).purgeDeletedUsers(runner)).rejects.toThrow('the commit is refused');
      expect(await left(ids)).toBe(3);
      expect(await purgeEvents(ids)).toEqual([]);
      await t.db.query('DROP TRIGGER purge_test_refuse_commit ON users');
      await t.db.query('DROP FUNCTION purge_test_refuse_commit()');
      expect(await t.app.get(PurgeService).purgeDeletedUsers(runner)).toEqual({ purged: 3, failed: 0 });
    } finally {
      await runner.release();
    }
  });
});
