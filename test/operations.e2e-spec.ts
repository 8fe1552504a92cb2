/**
 * What an operator does to a running service: restarts with changed variables, rotates the secret
 * key, changes the stream limits. Each on the real PostgreSQL (and NATS), in process.
 */
import { randomUUID } from 'node:crypto';
import { NatsConnection, connect } from 'nats';
import { SealedBox } from '../src/common/utils/sealed-box';
import { expectEventually } from './support/eventually';
import { MACHINE_NATS, deleteStream, isolatedStream } from './support/nats';
import { ADMIN, SECRET_KEY, TestApp, createTestDatabase, startTestApp } from './support/test-app';
import { bearer, createUser, login } from './support/users';

const ROTATED_KEY = 'the-new-secret-key-after-a-rotation-0123456789';
const UNKNOWN_KEY = 'a-secret-key-this-deployment-never-had-0123456';

describe('operating the service', () => {
  let database: { name: string; drop(): Promise<void> };
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  /** Runs `work` on an app on the shared database, and closes it (one app at a time: the JWT strategy is process-wide). */
  async function withApp<T>(env: Record<string, string>, work: (t: TestApp) => Promise<T>): Promise<T> {
    const t = await startTestApp({ database: database.name, env });
    try {
      return await work(t);
    } finally {
      await t.close();
    }
  }

  it('creates the first admin only while no admin exists: a renamed admin and a changed USERS_ADMIN_PASSWORD survive a restart', async () => {
    await withApp({}, async (t) => {
      const { rows } = await t.db.query(`SELECT id FROM users WHERE role = 'admin'`);
      expect(rows).toHaveLength(1);
      // The operator renames the admin (and would change the password through the API the same way).
      await t.db.query(`UPDATE users SET email = 'root@example.com' WHERE id = $1`, [rows[0].id]);
    });
    await withApp({ USERS_ADMIN_PASSWORD: 'a-new-password-in-the-environment' }, async (t) => {
      const { rows } = await t.db.query(`SELECT email FROM users WHERE role = 'admin'`);
      expect(rows).toEqual([{ email: 'root@example.com' }]);
      // The variables are read for the first admin only.
      await login(t, 'root@example.com', ADMIN.password);
      expect((await t.http.post('/users/tokens/issue').send({ identity: ADMIN.email, secret: 'a-new-password-in-the-environment' })).status).toBe(401);
    });
  }, 60_000);

  it('USERS_SECRET_KEY_PREVIOUS keeps tokens and queued mail links of the old key working; a mail no key opens fails at once', async () => {
    const old = await withApp({}, async (t) => {
      const user = await createUser(t);
      return { user, accessToken: user.accessToken };
    });
    // Mails queued before the rotation (sealed with the old key), and one sealed with a key this deployment never had.
    const sealedWithOld = new SealedBox(SECRET_KEY, 'mail-queue').seal(JSON.stringify({ name: 'Ada', email: old.user.email, link: 'https://x.example/verify?token=old' }));
    const sealedWithUnknown = new SealedBox(UNKNOWN_KEY, 'mail-queue').seal(JSON.stringify({ name: 'Ada', email: old.user.email, link: 'https://x.example/verify?token=lost' }));
    const [keptId, lostId] = [randomUUID(), randomUUID()];

    await withApp({ USERS_SECRET_KEY: ROTATED_KEY, USERS_SECRET_KEY_PREVIOUS: SECRET_KEY }, async (t) => {
      await t.db.query(
        `INSERT INTO mail_outbox (id, kind, recipient, sealed_context, expires_at) VALUES ($1, 'verification', $3, $4, now() + interval '1 hour'), ($2, 'verification', $3, $5, now() + interval '1 hour')`,
        [keptId, lostId, old.user.email, sealedWithOld, sealedWithUnknown],
      );
      await t.db.query(`SELECT pg_notify('users_mail', '')`);
      // A token of the old key still works; new tokens are signed with the new key.
      await t.http.get('/users/profile').set(bearer(old.accessToken)).expect(200);
      const fresh = await login(t, old.user.email, old.user.password);
      await t.http.get('/users/profile').set(bearer(fresh.accessToken)).expect(200);

      await expectEventually(async () => {
        const { rows } = await t.db.query(`SELECT id, sent_at IS NOT NULL AS sent, failed_at IS NOT NULL AS failed, attempts, last_error, sealed_context FROM mail_outbox WHERE id = ANY($1)`, [[keptId, lostId]]);
        const byId = Object.fromEntries(rows.map((row) => [row.id, row]));
        expect(byId[keptId]).toMatchObject({ sent: true, failed: false, sealed_context: null });
        // Given up at once (no retry can help), with the reason, and the sealed link wiped.
        expect(byId[lostId]).toMatchObject({ sent: false, failed: true, attempts: 0, sealed_context: null, last_error: expect.stringMatching(/no configured key opens/) });
      });
      return fresh;
    });

    // Once the previous key is dropped, its tokens end.
    await withApp({ USERS_SECRET_KEY: ROTATED_KEY }, async (t) => {
      expect((await t.http.get('/users/profile').set(bearer(old.accessToken))).status).toBe(401);
    });
  }, 90_000);
});

describe('the JetStream stream limits (USERS_ES_MAX_AGE, USERS_ES_MAX_BYTES)', () => {
  const { stream, env } = isolatedStream();
  let nc: NatsConnection;
  beforeAll(async () => {
    nc = await connect({ servers: MACHINE_NATS });
  });
  afterAll(async () => {
    await deleteStream(nc, stream);
    await nc.close();
  });

  const limitsOf = async () => {
    const { config } = await (await nc.jetstreamManager()).streams.info(stream);
    return { max_age: config.max_age, max_bytes: config.max_bytes };
  };
  const HOUR_NS = 3_600_000_000_000;

  it('are applied when the stream is created and updated on the next start', async () => {
    const first = await startTestApp({ env: { ...env(MACHINE_NATS), USERS_ES_MAX_AGE: '1h', USERS_ES_MAX_BYTES: '1000000' } });
    try {
      await expectEventually(async () => expect(await limitsOf()).toEqual({ max_age: HOUR_NS, max_bytes: 1_000_000 }));
    } finally {
      await first.close();
    }
    const second = await startTestApp({ env: { ...env(MACHINE_NATS), USERS_ES_MAX_AGE: '2h', USERS_ES_MAX_BYTES: '0' } });
    try {
      await expectEventually(async () => expect(await limitsOf()).toEqual({ max_age: 2 * HOUR_NS, max_bytes: -1 }));
    } finally {
      await second.close();
    }
  }, 90_000);
});
