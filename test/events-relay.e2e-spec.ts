/**
 * The events relay (EventsRelay) against nats-servers of this file's own: the stream it creates or
 * brings to the configured limits and replicas (a single server, a 3-node cluster), a stream NATS
 * refuses or that is not its own, what it publishes for an outbox row, the retry of a publish that
 * JetStream refused (the delays, the error kept, the user's later events held back, other users going
 * on), its wake-ups and rounds (with its poll lengthened to 60 s, every event here arrives because a
 * commit woke it), shutdown, a start while NATS is down (one connection attempt per poll interval),
 * and the relay off without USERS_ES_URL. Outbox rows are written here in SQL, as EventsService
 * writes them. The focused specs of the `events-relay` mutation module (docs/mutation-testing.md);
 * the events of each operation, the outage under load and two relays at once are in
 * test/events.e2e-spec.ts.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { ClientNats, ClientProxy } from '@nestjs/microservices';
import { JetStreamManager, NatsConnection, StorageType, StreamConfig, connect, nanos } from 'nats';
import { DataSource } from 'typeorm';
import { PollingWorker } from '../src/common/polling-worker';
import { EventsConfig } from '../src/config/events.config';
import { OutboxEvent } from '../src/events/entities/outbox-event.entity';
import { EventsRelay } from '../src/events/events-relay.service';
import { OUTBOX_CHANNEL } from '../src/events/events.service';
import { NATS_CLIENT, natsConnectionOptions } from '../src/events/nats-client';
import { PgNotifications } from '../src/database/pg-notifications';
import { freePort } from './support/built-app';
import { expectEventually } from './support/eventually';
import { NatsCluster, NatsServer, isolatedStream, readStream, storedMessages } from './support/nats';
import { dropDatabase, withAdminClient } from './support/postgres';
import { TestApp, startTestApp } from './support/test-app';

const MIB = 1024 * 1024;
/** The service's NATS user in the main tests: it may publish anywhere but under denied.> (NATS says which subject it refused). */
const SERVICE = { user: 'users-service', pass: 'relay-password-for-tests' };
const SERVICE_CONFIG = `authorization { users = [ { user: "${SERVICE.user}", password: "${SERVICE.pass}", permissions: { publish: { deny: ["denied.>"] } } } ] }`;

/** The relay's private parts the tests reach: what it does on connecting, its configuration, its worker, its logger. */
interface RelayInternals {
  ensureStream(manager: JetStreamManager): Promise<void>;
  connect(): Promise<unknown>;
  jetstream?: unknown;
  events: EventsConfig;
  worker: PollingWorker;
  logger: Logger;
  afterClaimForTests?: (batch: readonly OutboxEvent[]) => Promise<void>;
}
const relayOf = (t: TestApp) => t.app.get(EventsRelay) as unknown as RelayInternals;

/** Runs `work` with the relay configured otherwise (as if started with other USERS_ES_* variables). */
async function withRelayConfig(t: TestApp, change: Partial<EventsConfig>, work: () => Promise<unknown>): Promise<void> {
  const relay = relayOf(t);
  const saved = relay.events;
  relay.events = { ...saved, ...change };
  try {
    await work();
  } finally {
    relay.events = saved;
  }
}

/** Outbox rows as EventsService.record writes them, in one transaction that NOTIFYs the relay; their ids, in seq order. */
async function recordEvents(t: TestApp, userId: string, events: { operation?: string; data?: Record<string, unknown> }[]): Promise<string[]> {
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

const outboxRow = async (t: TestApp, id: string) => (await t.db.query(`SELECT sent_at IS NOT NULL AS sent, attempts, last_error FROM outbox_events WHERE id = $1`, [id])).rows[0];
const unsentIn = async (t: TestApp) => (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox_events WHERE sent_at IS NULL`)).rows[0].n;

describe('the events relay', () => {
  const { prefix, stream, env } = isolatedStream();
  let server: NatsServer;
  let monitorPort: number;
  // A 3-node JetStream cluster for the replica count, forming (a few seconds of elections) while the other tests run.
  const cluster = new NatsCluster(3);
  let clusterStarted: Promise<unknown>;
  let t: TestApp;
  let closed = false;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let relay: RelayInternals;
  /** The event ids of each batch the relay claimed, in order. */
  const claims: string[][] = [];
  const noteClaims = async (batch: readonly OutboxEvent[]) => void claims.push(batch.map((event) => event.id));

  beforeAll(async () => {
    clusterStarted = cluster.start().then(
      () => undefined,
      (error: unknown) => error,
    );
    monitorPort = await freePort();
    server = await new NatsServer({ config: SERVICE_CONFIG, probe: SERVICE, args: ['-m', String(monitorPort)] }).start();
    // A stream that keeps events 5 minutes: shorter than the de-duplication window of 10. A poll of
    // 60 s: every event below is published because a commit woke the relay, never by a poll.
    t = await startTestApp({
      env: { ...env(server.url), USERS_ES_USER: SERVICE.user, USERS_ES_PASSWORD: SERVICE.pass, USERS_ES_MAX_AGE: '5m', USERS_ES_MAX_BYTES: String(64 * MIB), USERS_ES_RELAY_POLL_INTERVAL: '60s' },
    });
    nc = await connect({ servers: server.url, ...SERVICE });
    jsm = await nc.jetstreamManager();
    relay = relayOf(t);
    relay.afterClaimForTests = noteClaims;
    // A test's writes below go to a user of its own; the app's own events (the admin's) are sent first.
    await expectEventually(async () => expect(await unsent()).toBe(0));
  });
  afterAll(async () => {
    if (!closed) await t.close();
    else {
      // Closed by the shutdown test (the app only): its database connection and database are left.
      await t.db.end();
      await withAdminClient((client) => dropDatabase(client, t.database));
    }
    await nc.close();
    await server.destroy();
    await clusterStarted;
    await cluster.destroy();
  });

  const unsent = async () => unsentIn(t);
  const record = async (userId: string, events: { operation?: string; data?: Record<string, unknown> }[]) => recordEvents(t, userId, events);
  const row = async (id: string) => outboxRow(t, id);
  const published = async () => readStream(nc, stream);
  /** Well under the 60 s poll: an event published within it was not found by a poll. */
  const BEFORE_ANY_POLL_MS = 20_000;
  const sentOf = async (ids: string[]) => (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox_events WHERE id = ANY($1) AND sent_at IS NOT NULL`, [ids])).rows[0].n;
  const update = async (change: Partial<StreamConfig>) => jsm.streams.update(stream, { ...(await jsm.streams.info(stream)).config, ...change } as Partial<StreamConfig>);

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

  it('keeps the first 1,000 characters of an error in last_error (a refusal naming a long subject)', async () => {
    const longPrefix = `denied.${'x'.repeat(1100)}`;
    let id = '';
    await withRelayConfig(t, { subjectPrefix: longPrefix }, async () => {
      [id] = await record(randomUUID(), [{}]);
      await expectEventually(async () => expect(await row(id)).toMatchObject({ sent: false, attempts: 1 }), BEFORE_ANY_POLL_MS);
    });
    const { last_error } = await row(id);
    // NATS' own words, quoted: 'Permissions Violation for Publish to "<subject>"'.
    expect(last_error).toBe(`'Permissions Violation for Publish to "${longPrefix}.user.update"'`.slice(0, 1000));
    // Configured back, it goes out at its retry.
    await t.db.query(`UPDATE outbox_events SET available_at = now() WHERE id = $1`, [id]);
    await t.db.query(`SELECT pg_notify($1, '')`, [OUTBOX_CHANNEL]);
    await expectEventually(async () => expect(await row(id)).toMatchObject({ sent: true }), BEFORE_ANY_POLL_MS);
  });

  it('looks at its stream once per connection: a change made to the stream since is not undone by publishing', async () => {
    await update({ max_bytes: 8 * MIB });
    try {
      const [id] = await record(randomUUID(), [{}]);
      await expectEventually(async () => expect(await row(id)).toMatchObject({ sent: true }));
      expect((await jsm.streams.info(stream)).config.max_bytes).toBe(8 * MIB);
    } finally {
      await update({ max_bytes: 64 * MIB });
    }
  });

  describe('an existing stream (a restart, or a change of USERS_ES_MAX_AGE or USERS_ES_MAX_BYTES)', () => {
    // What the relay does on connecting, run again here against the stream as the test left it.
    const ensureStream = () => relayOf(t).ensureStream(jsm);

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

    it('keeps one copy on a single server whatever USERS_ES_REPLICAS says (no replica change asked of it), and still gets the configured limits', async () => {
      await update({ max_bytes: 8 * MIB });
      await withRelayConfig(t, { replicas: 3 }, ensureStream);
      expect((await jsm.streams.info(stream)).config).toMatchObject({ num_replicas: 1, max_bytes: 64 * MIB, max_age: nanos(5 * 60_000) });
    });

    it('has no size limit (-1) with USERS_ES_MAX_BYTES=0, only the age', async () => {
      try {
        await withRelayConfig(t, { maxBytes: 0 }, ensureStream);
        expect((await jsm.streams.info(stream)).config).toMatchObject({ max_bytes: -1, max_age: nanos(5 * 60_000) });
      } finally {
        await update({ max_bytes: 64 * MIB });
      }
    });

    it('gets the configured replica count in a JetStream cluster, and the configured limits with it', async () => {
      const failed = await clusterStarted;
      if (failed) throw failed;
      const cnc = await connect({ servers: cluster.urls.split(',') });
      try {
        const cjsm = await cnc.jetstreamManager();
        await cjsm.streams.add({ name: stream, subjects: [`${prefix}.>`], storage: StorageType.File, num_replicas: 1, max_age: nanos(5 * 60_000), max_bytes: 8 * MIB, duplicate_window: nanos(2 * 60_000) });
        await withRelayConfig(t, { replicas: 3 }, () => relayOf(t).ensureStream(cjsm));
        expect((await cjsm.streams.info(stream)).config).toMatchObject({ num_replicas: 3, max_bytes: 64 * MIB, max_age: nanos(5 * 60_000), duplicate_window: nanos(2 * 60_000) });
      } finally {
        await cnc.close();
      }
    }, 60_000);

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

  describe('woken by commits (its poll is 60 s)', () => {
    it('publishes an event at its commit: its NOTIFY wakes the relay', async () => {
      const [id] = await record(randomUUID(), [{}]);
      await expectEventually(async () => expect(await row(id)).toMatchObject({ sent: true }), BEFORE_ANY_POLL_MS);
    });

    it('publishes more than a batch (256) committed at once in one round: after a full batch it claims the next at once', async () => {
      const ids = await record(randomUUID(), Array.from({ length: 300 }, () => ({})));
      await expectEventually(async () => expect(await sentOf(ids)).toBe(300), BEFORE_ANY_POLL_MS);
      expect((await published()).filter((m) => ids.includes(m.payload.event_id as string)).map((m) => m.payload.event_id)).toEqual(ids);
    });

    it('after a batch that was not full, waits to be woken: no other claim before the next commit', async () => {
      const [first] = await record(randomUUID(), [{}]);
      await expectEventually(async () => expect(await row(first)).toMatchObject({ sent: true }), BEFORE_ANY_POLL_MS);
      const [second] = await record(randomUUID(), [{}]);
      await expectEventually(async () => expect(await row(second)).toMatchObject({ sent: true }), BEFORE_ANY_POLL_MS);
      const from = claims.findIndex((batch) => batch.includes(first));
      expect(claims.slice(from, from + 2)).toEqual([[first], [second]]);
    });

    it('loses no wake-up: a commit during a run is published when the run is over', async () => {
      const held = randomUUID();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let holding = false;
      relay.afterClaimForTests = async (batch) => {
        await noteClaims(batch);
        if (batch.some((event) => event.userId === held)) {
          holding = true;
          await gate;
        }
      };
      const wakes = jest.spyOn(relay.worker, 'wake');
      try {
        const [first] = await record(held, [{}]);
        await expectEventually(() => expect(holding).toBe(true), BEFORE_ANY_POLL_MS);
        const woken = wakes.mock.calls.length;
        const [second] = await record(randomUUID(), [{}]);
        // Its NOTIFY reached the relay while the run was held.
        await expectEventually(() => expect(wakes.mock.calls.length).toBeGreaterThan(woken), BEFORE_ANY_POLL_MS);
        release();
        await expectEventually(async () => expect(await sentOf([first, second])).toBe(2), BEFORE_ANY_POLL_MS);
      } finally {
        release();
        wakes.mockRestore();
        relay.afterClaimForTests = noteClaims;
      }
    });
  });

  describe('a stream NATS refuses, or the stream of its name not its own', () => {
    // Another prefix and stream name, as if configured so; a stream of someone else's takes that prefix's subjects.
    const other = isolatedStream();
    const capture = `${other.stream}_CAPTURE`;
    const asOther = (work: () => Promise<unknown>) => withRelayConfig(t, { stream: other.stream, subjectPrefix: other.prefix }, work);

    beforeAll(async () => {
      await jsm.streams.add({ name: capture, subjects: [`${other.prefix}.>`], storage: StorageType.File });
    });

    it('keeps the events in the outbox and says why while NATS refuses to create its stream; once it may, the next commit has it connect', async () => {
      const errors = jest.spyOn(relay.logger, 'error');
      const failures = () => errors.mock.calls.map(([fields]) => (fields as { err?: Error } | undefined)?.err?.message);
      let id = '';
      try {
        await asOther(async () => {
          // As at its start (NATS reachable so far): it connects, and looks for its stream, at its next run.
          relay.jetstream = undefined;
          [id] = await record(randomUUID(), [{}]);
          await expectEventually(
            () => expect(failures()).toContain(`NATS refused to create the JetStream stream ${other.stream} with USERS_ES_REPLICAS=1: subjects overlap with an existing stream`),
            BEFORE_ANY_POLL_MS,
          );
          expect(await row(id)).toEqual({ sent: false, attempts: 0, last_error: null });
        });
        // Its own configuration again (a stream NATS takes): the next commit's NOTIFY is enough, no poll.
        const [next] = await record(randomUUID(), [{}]);
        await expectEventually(async () => expect(await sentOf([id, next])).toBe(2), BEFORE_ANY_POLL_MS);
      } finally {
        errors.mockRestore();
      }
    });

    it('publishes nothing into another stream when the stream of its name is someone else’s (a mirror: no subjects): each event is refused and put back', async () => {
      const origin = `${other.stream}_ORIGIN`;
      await jsm.streams.add({ name: origin, subjects: [`origin${randomBytes(3).toString('hex')}.>`], storage: StorageType.File });
      await jsm.streams.add({ name: other.stream, mirror: { name: origin } } as Partial<StreamConfig>);
      let id = '';
      await asOther(async () => {
        // On connecting: left as it is (it is not ours), and publishing goes on.
        await relay.ensureStream(jsm);
        expect((await jsm.streams.info(other.stream)).config.subjects).toBeUndefined();
        [id] = await record(randomUUID(), [{}]);
        await expectEventually(async () => expect(await row(id)).toMatchObject({ sent: false, attempts: 1, last_error: 'expected stream does not match' }));
      });
      expect((await jsm.streams.info(capture)).state.messages).toBe(0);
      // Configured back, the relay sends it at its retry (to its own stream).
      await t.db.query(`UPDATE outbox_events SET available_at = now() WHERE id = $1`, [id]);
      await t.db.query(`SELECT pg_notify($1, '')`, [OUTBOX_CHANNEL]);
      await expectEventually(async () => expect(await row(id)).toMatchObject({ sent: true }), BEFORE_ANY_POLL_MS);
    });
  });

  it('is off with USERS_ES_URL empty: it never connects, so the outbox keeps the events', async () => {
    // Another relay on this app's database and LISTEN connection, configured as USERS_ES_URL empty makes it, with a client of its own.
    const client = new ClientNats(natsConnectionOptions({ servers: undefined, auth: { kind: 'none' }, tls: undefined }));
    const connects = jest.spyOn(client, 'connect').mockRejectedValue(new Error('a relay that is off connects to nothing'));
    const off = new EventsRelay(t.app.get(DataSource), client as unknown as ClientProxy, t.app.get(PgNotifications), { ...relay.events, servers: undefined });
    try {
      await off.onApplicationBootstrap();
      await record(randomUUID(), [{}]);
      expect(off.enabled).toBe(false);
      expect(connects).not.toHaveBeenCalled();
    } finally {
      await off.onModuleDestroy();
    }
  });

  describe('at shutdown', () => {
    it('finishes the batch in flight (its event marked sent), and closes its NATS connection', async () => {
      const clients = async () => {
        const { connections } = (await (await fetch(`http://127.0.0.1:${monitorPort}/connz`)).json()) as { connections?: { name?: string }[] };
        return (connections ?? []).filter((connection) => connection.name === 'users-service').length;
      };
      // The relay's and the NATS API's.
      expect(await clients()).toBe(2);
      const held = randomUUID();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let holding = false;
      relay.afterClaimForTests = async (batch) => {
        if (batch.some((event) => event.userId === held)) {
          holding = true;
          await gate;
        }
      };
      const [id] = await record(held, [{}]);
      await expectEventually(() => expect(holding).toBe(true), BEFORE_ANY_POLL_MS);
      closed = true;
      const closing = t.app.close();
      release();
      await closing;
      expect(await row(id)).toMatchObject({ sent: true, attempts: 1 });
      await expectEventually(async () => expect(await clients()).toBe(0), 10_000);
    });
  });
});

describe('the events relay starting while NATS is down', () => {
  const { stream, env } = isolatedStream();
  const server = new NatsServer();
  const POLL_MS = 2000;
  let t: TestApp;

  beforeAll(async () => {
    await server.start();
    await server.stop();
    t = await startTestApp({ env: { ...env(server.url), USERS_ES_RELAY_POLL_INTERVAL: `${POLL_MS}ms` } });
  });
  afterAll(async () => {
    await t?.close();
    await server.destroy();
  });

  it('tries to connect at most once per poll interval, however many commits wake it', async () => {
    const relay = relayOf(t);
    const attempts = jest.spyOn(t.app.get<ClientProxy>(NATS_CLIENT), 'connect');
    const runs = jest.spyOn(relay, 'connect');
    const since = Date.now();
    try {
      for (let i = 0; i < 8; i++) {
        const before = runs.mock.calls.length;
        await t.db.query(`SELECT pg_notify($1, '')`, [OUTBOX_CHANNEL]);
        await expectEventually(() => expect(runs.mock.calls.length).toBeGreaterThan(before));
      }
      expect(attempts.mock.calls.length).toBeLessThanOrEqual(1 + Math.floor((Date.now() - since) / POLL_MS));
    } finally {
      attempts.mockRestore();
      runs.mockRestore();
    }
  });

  it('keeps the events in the outbox, untried, and publishes them once NATS is up (at a later poll)', async () => {
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
