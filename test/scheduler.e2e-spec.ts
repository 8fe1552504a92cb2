/**
 * The scheduler (API.md §8): deleted users are purged after USERS_DELETE_AFTER, in batches, once
 * each across replicas, without stalling on one that cannot be purged; expired and spent rows are
 * cleaned up.
 */
import { SchedulerService } from '../src/scheduler/scheduler.service';
import { TestApp, createTestDatabase, startTestApp } from './support/test-app';
import { bearer, createUser, loginAdmin } from './support/users';
import { expectEventually } from './support/eventually';

/** The scheduler runs every 200 ms here; a user counts as purgeable once deleted an hour ago. */
const FAST = { USERS_DELETE_INTERVAL: '200ms', USERS_DELETE_AFTER: '1h', USERS_CLEANUP_INTERVAL: '200ms', USERS_OUTBOX_RETENTION: '1h' };

async function deletedUser(t: TestApp, admin: string, deletedAgo: string): Promise<string> {
  const user = await createUser(t);
  await t.http.delete(`/users/${user.id}`).set(bearer(admin)).expect(204);
  await t.db.query(`UPDATE users SET deleted_at = now() - $2::interval WHERE id = $1`, [user.id, deletedAgo]);
  return user.id;
}

const exists = async (t: TestApp, id: string) => (await t.db.query('SELECT 1 FROM users WHERE id = $1', [id])).rowCount === 1;
const purgeEvents = async (t: TestApp, id: string) =>
  (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox_events WHERE user_id = $1 AND operation = 'user.purge'`, [id])).rows[0].n;

describe('purging deleted users', () => {
  let t: TestApp;
  let admin: string;

  beforeAll(async () => {
    t = await startTestApp({ env: FAST });
    admin = await loginAdmin(t);
  });
  afterAll(() => t.close());

  it('purges users deleted long enough ago, with their tokens and a user.purge event each, and keeps the others', async () => {
    const old = await Promise.all([deletedUser(t, admin, '2 hours'), deletedUser(t, admin, '30 days')]);
    const young = await deletedUser(t, admin, '10 minutes');
    const disabled = await createUser(t);
    await t.http.post(`/users/${disabled.id}/disable`).set(bearer(admin)).expect(200);
    await t.db.query(`UPDATE users SET updated_at = now() - interval '40 days' WHERE id = $1`, [disabled.id]);

    await expectEventually(async () => {
      for (const id of old) expect(await exists(t, id)).toBe(false);
    });
    for (const id of old) {
      expect(await purgeEvents(t, id)).toBe(1);
      const { rows } = await t.db.query(`SELECT (SELECT count(*) FROM refresh_tokens WHERE user_id = $1)::int + (SELECT count(*) FROM link_tokens WHERE user_id = $1)::int AS n`, [id]);
      expect(rows[0].n).toBe(0);
    }
    expect(await exists(t, young)).toBe(true);
    expect(await exists(t, disabled.id)).toBe(true);
    expect(await purgeEvents(t, young)).toBe(0);
  });

  it('skips a user it cannot purge, purges the rest, and keeps running later rounds', async () => {
    // Deleted just now (not yet purgeable), and made purgeable only once the trigger stands: a round
    // running in between would otherwise purge it before it is stuck.
    const stuck = await deletedUser(t, admin, '0 seconds');
    await t.db.query(`
      CREATE FUNCTION refuse_purge() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF OLD.id = '${stuck}' THEN RAISE EXCEPTION 'this user cannot be purged'; END IF;
        RETURN OLD;
      END $$`);
    await t.db.query(`CREATE TRIGGER refuse_purge BEFORE DELETE ON users FOR EACH ROW EXECUTE FUNCTION refuse_purge()`);
    await t.db.query(`UPDATE users SET deleted_at = now() - interval '3 hours' WHERE id = $1`, [stuck]);
    try {
      const others = await Promise.all([deletedUser(t, admin, '2 hours'), deletedUser(t, admin, '4 hours')]);
      await expectEventually(async () => {
        for (const id of others) expect(await exists(t, id)).toBe(false);
      });
      // A later round, after the failures: had a run stalled or spun on the stuck user, this one would never be purged.
      const later = await deletedUser(t, admin, '2 hours');
      await expectEventually(async () => expect(await exists(t, later)).toBe(false));
      expect(await exists(t, stuck)).toBe(true);
      expect(await purgeEvents(t, stuck)).toBe(0);
    } finally {
      await t.db.query('DROP TRIGGER refuse_purge ON users');
      await t.db.query('DROP FUNCTION refuse_purge()');
    }
    await expectEventually(async () => expect(await exists(t, stuck)).toBe(false));
    expect(await purgeEvents(t, stuck)).toBe(1);
  });
});

describe('one round of the purge job', () => {
  let t: TestApp;

  // The schedule's own rounds stay 24 h apart here: the test runs the round itself, once.
  beforeAll(async () => {
    t = await startTestApp({ env: { USERS_DELETE_AFTER: '1h' } });
  });
  afterAll(() => t.close());

  it('purges more than one batch (100)', async () => {
    const { rows } = await t.db.query<{ id: string }>(
      `INSERT INTO users (first_name, last_name, email, status, deleted_at)
       SELECT 'Old', 'User', 'batch-' || g || '@example.com', 'deleted', now() - interval '2 hours'
       FROM generate_series(1, 250) AS g RETURNING id`,
    );
    expect(await t.app.get(SchedulerService).purge.run()).toBe(true);
    const left = await t.db.query(`SELECT count(*)::int AS n FROM users WHERE id = ANY($1)`, [rows.map((row) => row.id)]);
    expect(left.rows[0].n).toBe(0);
  });
});

describe('two replicas', () => {
  it('take turns: one at a time runs the purge, and each user is purged once', async () => {
    const database = await createTestDatabase();
    const replicas = [await startTestApp({ database: database.name, env: FAST }), await startTestApp({ database: database.name, env: FAST })];
    const [t] = replicas;
    // Each purge transaction notes its deletions, each made slow (10 ms), so that rounds of two
    // replicas running at once would surely overlap; the advisory lock must keep them apart.
    await t.db.query(`CREATE TABLE purge_log (tx bigint, pid int, at timestamptz)`);
    await t.db.query(`
      CREATE FUNCTION note_purge() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO purge_log VALUES (txid_current(), pg_backend_pid(), clock_timestamp());
        PERFORM pg_sleep(0.01);
        RETURN OLD;
      END $$`);
    await t.db.query(`CREATE TRIGGER note_purge BEFORE DELETE ON users FOR EACH ROW EXECUTE FUNCTION note_purge()`);
    try {
      const { rows } = await t.db.query<{ id: string }>(
        `INSERT INTO users (first_name, last_name, email, status, deleted_at)
         SELECT 'Old', 'User', 'twice-' || g || '@example.com', 'deleted', now() - interval '2 hours'
         FROM generate_series(1, 150) AS g RETURNING id`,
      );
      const ids = rows.map((row) => row.id);
      await expectEventually(async () => {
        const left = await t.db.query(`SELECT count(*)::int AS n FROM users WHERE id = ANY($1)`, [ids]);
        expect(left.rows[0].n).toBe(0);
      });
      const events = await t.db.query<{ user_id: string; n: number }>(
        `SELECT user_id, count(*)::int AS n FROM outbox_events WHERE operation = 'user.purge' AND user_id = ANY($1) GROUP BY user_id`,
        [ids],
      );
      expect(events.rows).toHaveLength(150);
      expect(events.rows.every((row) => row.n === 1)).toBe(true);
      // No two purge transactions were ever under way at the same time.
      const overlapping = await t.db.query(`
        WITH spans AS (SELECT tx, min(at) AS first_at, max(at) AS last_at FROM purge_log GROUP BY tx)
        SELECT a.tx, b.tx AS other FROM spans a JOIN spans b ON a.tx < b.tx AND a.first_at <= b.last_at AND b.first_at <= a.last_at`);
      expect(overlapping.rows).toEqual([]);
    } finally {
      for (const replica of replicas.reverse()) await replica.close();
      await database.drop();
    }
  });
});

describe('cleanup', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: FAST });
  });
  afterAll(() => t.close());

  it('removes expired refresh and link tokens, spent link tokens, old sent events and mails, and stale throttle entries; keeps the rest', async () => {
    const user = await createUser(t);
    await t.db.query(`INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at) VALUES (gen_random_uuid(), gen_random_uuid(), $1, '\\x00', now() - interval '1 minute')`, [user.id]);
    await t.db.query(`INSERT INTO link_tokens (id, user_id, purpose, token_hash, email, expires_at) VALUES (gen_random_uuid(), $1, 'recovery', '\\x00', $2, now() - interval '1 minute')`, [user.id, user.email]);
    await t.db.query(`INSERT INTO link_tokens (id, user_id, purpose, token_hash, email, expires_at, used_at) VALUES (gen_random_uuid(), $1, 'recovery', '\\x00', $2, now() + interval '1 hour', now())`, [user.id, user.email]);
    await t.db.query(`UPDATE outbox_events SET sent_at = now() - interval '2 hours' WHERE user_id = $1 AND operation = 'user.create'`, [user.id]);
    await t.db.query(`UPDATE mail_outbox SET sent_at = now() - interval '2 hours', sealed_context = NULL WHERE recipient = $1`, [user.email]);
    await t.db.query(`INSERT INTO mail_throttle (recipient, kind, last_at) VALUES ('stale@example.com', 'verification', now() - interval '1 day')`);
    // TOTP enrolments: one abandoned (unverified, two days old), one verified as old, one unverified but recent.
    await t.db.query(
      `INSERT INTO mfa_factors (id, user_id, friendly_name, status, secret, created_at)
       VALUES (gen_random_uuid(), $1, 'abandoned', 'unverified', '\\x00', now() - interval '2 days'),
              (gen_random_uuid(), $1, 'verified', 'verified', '\\x00', now() - interval '2 days'),
              (gen_random_uuid(), $1, 'recent', 'unverified', '\\x00', now())`,
      [user.id],
    );

    await expectEventually(async () => {
      const { rows } = await t.db.query(`
        SELECT (SELECT count(*) FROM refresh_tokens WHERE user_id = $1 AND expires_at < now())::int AS expired_refresh,
               (SELECT count(*) FROM link_tokens WHERE user_id = $1 AND (expires_at < now() OR used_at IS NOT NULL))::int AS dead_links,
               (SELECT count(*) FROM outbox_events WHERE user_id = $1 AND operation = 'user.create')::int AS old_events,
               (SELECT count(*) FROM mail_outbox WHERE recipient = $2)::int AS old_mails,
               (SELECT count(*) FROM mail_throttle WHERE recipient = 'stale@example.com')::int AS stale_throttle,
               (SELECT count(*) FROM mfa_factors WHERE user_id = $1 AND friendly_name = 'abandoned')::int AS abandoned_factors`,
        [user.id, user.email]);
      expect(rows[0]).toEqual({ expired_refresh: 0, dead_links: 0, old_events: 0, old_mails: 0, stale_throttle: 0, abandoned_factors: 0 });
    });
    const kept = await t.db.query(`
      SELECT (SELECT count(*) FROM refresh_tokens WHERE user_id = $1)::int AS live_refresh,
             (SELECT count(*) FROM link_tokens WHERE user_id = $1)::int AS live_links,
             (SELECT count(*) FROM outbox_events WHERE user_id = $1)::int AS recent_events,
             (SELECT count(*) FROM mail_throttle WHERE recipient = $2)::int AS recent_throttle,
             (SELECT count(*) FROM mfa_factors WHERE user_id = $1)::int AS factors`,
      [user.id, user.email]);
    expect(kept.rows[0]).toEqual({ live_refresh: 1, live_links: 1, recent_events: 2, recent_throttle: 1, factors: 2 });
  });
});
