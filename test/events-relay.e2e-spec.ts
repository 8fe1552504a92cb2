/**
 * The events relay (EventsRelay) against a nats-server of this file's own: the stream it creates or
 * brings to the configured limits, what it publishes for an outbox row, the retry of a publish that
 * JetStream refused (the delays, the user's later events held back, other users going on), and a
 * start while NATS is down. Outbox rows are written here in SQL, as EventsService writes them. The
 * focused specs of the `events-relay` mutation module (docs/mutation-testing.md); the events of
 * each operation, the outage under load and two relays at once are in test/events.e2e-spec.ts.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { JetStreamManager, NatsConnection, StreamConfig, connect, nanos } from 'nats';
import { EventsRelay } from '../src/events/events-relay.service';
import { OUTBOX_CHANNEL } from '../src/events/events.service';
import { expectEventually } from './support/eventually';
import { NatsServer, isolatedStream, readStream, storedMessages } from './support/nats';
import { TestApp, startTestApp } from './support/test-app';

const MIB = 1024 * 1024;

describe('the events relay', () => {
  const { prefix, stream, env } = isolatedStream();
  const server = new NatsServer();
  let t: TestApp;
  let nc: NatsConnection;
  let jsm: JetStreamManager;

  beforeAll(async () => {
    await server.start();
    // A stream that keeps events 5 minutes: shorter than the de-duplication window of 10.
    t = await startTestApp({ env: { ...env(server.url), USERS_ES_MAX_AGE: '5m', USERS_ES_MAX_BYTES: String(64 * MIB) } });
    nc = await connect({ servers: server.url });
    jsm = await nc.jetstreamManager();
    // A test's writes below go to a user of its own; the app's own events (the admin's) are sent first.
    await expectEventually(async () => expect(await unsent()).toBe(0));
  });
  afterAll(async () => {
    await t.close();
    await nc.close();
    await server.destroy();
  });

  const unsent = async () => (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox_events WHERE sent_at IS NULL`)).rows[0].n;

  /** Outbox rows as EventsService.record writes them (and the NOTIFY that wakes the relay); their ids, in seq order. */
  async function record(userId: string, events: { operation?: string; data?: Record<string, unknown> }[]): Promise<string[]> {
    const ids = events.map(() => randomUUID());
    await t.db.query('BEGIN');
    for (const [i, event] of events.entries()) {
      await t.db.query(`INSERT INTO outbox_events (id, user_id, operation, actor_id, request_id, data) VALUES ($1, $2, $3, $4, $5, $6)`, [
        ids[i],
        userId,
        event.operation ?? 'user.update',
        userId,
        `req-${i}`,
        event.data ?? { n: i },
      ]);
    }
    await t.db.query(`SELECT pg_notify($1, '')`, [OUTBOX_CHANNEL]);
    await t.db.query('COMMIT');
    return ids;
  }

  const row = async (id: string) => (await t.db.query(`SELECT sent_at IS NOT NULL AS sent, attempts, last_error FROM outbox_events WHERE id = $1`, [id])).rows[0];
  const published = async () => readStream(nc, stream);

  it('creates its stream: its subjects, file storage, the configured age, size and replicas, and a de-duplication window of 10 minutes or the age when shorter', async () => {
    const info = await jsm.streams.info(stream);
    expect(info.config).toMatchObject({ subjects: [`${prefix}.>`], storage: 'file', max_age: nanos(5 * 60_000), max_bytes: 64 * MIB, num_replicas: 1, duplicate_window: nanos(5 * 60_000) });
  });

  it('publishes each event once, on <prefix>.<operation>, with its payload and its id as Nats-Msg-Id, and marks it sent', async () => {
    const userId = randomUUID();
    const [id] = await record(userId, [{ operation: 'user.update_tags', data: { tags: ['a', 'b'] } }]);
    await expectEventually(async () => expect(await row(id)).toEqual({ sent: true, attempts: 1, last_error: null }));
    const { rows: [{ created_at }] } = await t.db.query<{ created_at: Date }>(`SELECT created_at FROM outbox_events WHERE id = $1`, [id]);
    const messages = (await published()).filter((m) => m.payload.event_id === id);
    expect(messages).toEqual([
      {
        subject: `${prefix}.user.update_tags`,
        msgId: id,
        payload: { event_id: id, operation: 'user.update_tags', occurred_at: created_at.toISOString(), actor_id: userId, request_id: 'req-0', user_id: userId, tags: ['a', 'b'] },
      },
    ]);
  });

  it('publishes more than a batch (256) of several users, each user’s in order, each once', async () => {
    const users = [randomUUID(), randomUUID(), randomUUID()];
    const recorded = new Map<string, string[]>();
    for (const userId of users) recorded.set(userId, await record(userId, Array.from({ length: 90 }, () => ({}))));
    await expectEventually(async () => expect(await unsent()).toBe(0), 60_000);
    const messages = await published();
    for (const userId of users) {
      expect(messages.filter((m) => m.payload.user_id === userId).map((m) => m.payload.event_id)).toEqual(recorded.get(userId));
    }
  }, 90_000);

  it('puts back an event JetStream refused: attempts + 1, available after 500 ms · 2^attempts (30 s at most), the error kept; the user’s later events wait, other users’ go on', async () => {
    // JetStream refuses a message over the stream's max_msg_size: one user's first event is made too big.
    const config = (await jsm.streams.info(stream)).config;
    await jsm.streams.update(stream, { ...config, max_msg_size: 4096 } as Partial<StreamConfig>);
    // Each retry's delay, as the relay's UPDATE sets it (available_at - now() in its transaction).
    await t.db.query(`CREATE TABLE relay_delays (seq bigint, attempts int, delay_ms int)`);
    await t.db.query(`
      CREATE FUNCTION note_relay_delay() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO relay_delays VALUES (NEW.seq, NEW.attempts, round(extract(epoch FROM NEW.available_at - now()) * 1000));
        RETURN NEW;
      END $$`);
    await t.db.query(`
      CREATE TRIGGER note_relay_delay BEFORE UPDATE ON outbox_events FOR EACH ROW
      WHEN (NEW.attempts = OLD.attempts + 1 AND NEW.sent_at IS NULL) EXECUTE FUNCTION note_relay_delay()`);
    try {
      const stuck = randomUUID();
      const other = randomUUID();
      const [big, later] = await record(stuck, [{ data: { blob: 'x'.repeat(8192) } }, {}]);
      const [free] = await record(other, [{}]);
      const seqOf = async (id: string) => (await t.db.query(`SELECT seq FROM outbox_events WHERE id = $1`, [id])).rows[0].seq as string;
      const delays = async () => (await t.db.query<{ attempts: number; delay_ms: number }>(`SELECT attempts, delay_ms FROM relay_delays WHERE seq = $1 ORDER BY attempts`, [await seqOf(big)])).rows;

      await expectEventually(async () => expect(await row(big)).toMatchObject({ sent: false, attempts: 1, last_error: expect.stringMatching(/maximum|size/i) }));
      await expectEventually(async () => expect(await row(free)).toMatchObject({ sent: true }));
      expect(await delays()).toEqual([{ attempts: 1, delay_ms: 500 }]);

      // Later retries, brought forward: after 3 attempts 4 s, after 6 the cap of 30 s (not 32).
      for (const [attempts, expected] of [[3, 4000], [6, 30_000]]) {
        await t.db.query(`UPDATE outbox_events SET attempts = $2, available_at = now() WHERE id = $1`, [big, attempts]);
        await t.db.query(`SELECT pg_notify($1, '')`, [OUTBOX_CHANNEL]);
        await expectEventually(async () => expect(await delays()).toContainEqual({ attempts: attempts + 1, delay_ms: expected }));
      }
      // Meanwhile the user's later event was never tried, and nothing of that user was published.
      expect(await row(later)).toEqual({ sent: false, attempts: 0, last_error: null });
      expect((await published()).filter((m) => m.payload.user_id === stuck)).toEqual([]);

      // Made small enough, the event goes out, and the later one after it.
      await t.db.query(`UPDATE outbox_events SET data = '{}', available_at = now() WHERE id = $1`, [big]);
      await t.db.query(`SELECT pg_notify($1, '')`, [OUTBOX_CHANNEL]);
      await expectEventually(async () => expect(await row(later)).toMatchObject({ sent: true, attempts: 1 }));
      expect((await published()).filter((m) => m.payload.user_id === stuck).map((m) => m.payload.event_id)).toEqual([big, later]);
    } finally {
      await t.db.query(`DROP TRIGGER note_relay_delay ON outbox_events`);
      await t.db.query(`DROP FUNCTION note_relay_delay()`);
      await t.db.query(`DROP TABLE relay_delays`);
      await jsm.streams.update(stream, { ...(await jsm.streams.info(stream)).config, max_msg_size: -1 } as Partial<StreamConfig>);
    }
  });

  describe('an existing stream (a restart, or a change of USERS_ES_MAX_AGE or USERS_ES_MAX_BYTES)', () => {
    // What the relay does on connecting, run again here against the stream as the test left it.
    const ensureStream = () => (t.app.get(EventsRelay) as unknown as { ensureStream(manager: JetStreamManager): Promise<void> }).ensureStream(jsm);
    const update = async (change: Partial<StreamConfig>) => jsm.streams.update(stream, { ...(await jsm.streams.info(stream)).config, ...change } as Partial<StreamConfig>);

    it('gets the configured age, keeping a shorter de-duplication window', async () => {
      await update({ max_age: nanos(60 * 60_000), duplicate_window: nanos(2 * 60_000) });
      await ensureStream();
      expect((await jsm.streams.info(stream)).config).toMatchObject({ max_age: nanos(5 * 60_000), max_bytes: 64 * MIB, duplicate_window: nanos(2 * 60_000), num_replicas: 1 });
    });

    it('gets the configured size', async () => {
      await update({ max_bytes: 8 * MIB });
      await ensureStream();
      expect((await jsm.streams.info(stream)).config).toMatchObject({ max_age: nanos(5 * 60_000), max_bytes: 64 * MIB });
    });

    it('is left as it is when it takes other subjects (someone else’s stream of that name)', async () => {
      await update({ subjects: [`other${randomBytes(3).toString('hex')}.>`], max_bytes: 8 * MIB });
      try {
        await ensureStream();
        expect((await jsm.streams.info(stream)).config.max_bytes).toBe(8 * MIB);
      } finally {
        await update({ subjects: [`${prefix}.>`], max_bytes: 64 * MIB });
      }
    });
  });
});

describe('the events relay starting while NATS is down', () => {
  const { stream, env } = isolatedStream();
  const server = new NatsServer();
  let t: TestApp;

  afterAll(async () => {
    await t?.close();
    await server.destroy();
  });

  it('keeps the events in the outbox, untried, and publishes them once NATS is up', async () => {
    await server.start();
    await server.stop();
    t = await startTestApp({ env: env(server.url) });
    const userId = randomUUID();
    const ids = [randomUUID(), randomUUID()];
    for (const id of ids) await t.db.query(`INSERT INTO outbox_events (id, user_id, operation, data) VALUES ($1, $2, 'user.update', '{}')`, [id, userId]);
    await t.db.query(`SELECT pg_notify($1, '')`, [OUTBOX_CHANNEL]);
    // Readiness says NATS is down (and the service stays ready); the events were never tried.
    await expectEventually(async () => expect((await t.http.get('/health/ready').expect(200)).body.details.nats.status).toBe('down'));
    const { rows } = await t.db.query(`SELECT sent_at, attempts FROM outbox_events WHERE id = ANY($1)`, [ids]);
    expect(rows).toEqual([{ sent_at: null, attempts: 0 }, { sent_at: null, attempts: 0 }]);

    await server.start();
    const nc = await connect({ servers: server.url });
    try {
      await expectEventually(async () => {
        const messages = await storedMessages(nc, stream).catch(() => []);
        expect(messages.filter((m) => m.payload.user_id === userId).map((m) => m.payload.event_id)).toEqual(ids);
      }, 60_000);
    } finally {
      await nc.close();
    }
    await expectEventually(async () => expect((await t.http.get('/health/ready').expect(200)).body.details.nats.status).toBe('up'));
  }, 90_000);
});
