/**
 * Scale-out on NATS: a 3-node JetStream cluster of the test's own on loopback ports, the built service
 * connected to all three (USERS_ES_URL lists them) with USERS_ES_REPLICAS=3. Under a stream of
 * registrations the node that leads the stream (and holds the service's connections) is killed: every
 * registration answered 201 has its event in the stream exactly once (counted by the outbox ids, which
 * are the Nats-Msg-Ids), the relay fails over by itself and readiness stays 200.
 */
import { NatsConnection, StorageType, connect } from 'nats';
import { Client } from 'pg';
import { BuiltApp, startBuiltApp } from './support/built-app';
import { expectEventually } from './support/eventually';
import { NatsCluster, NatsServer, StreamMessage, isolatedStream, storedMessages } from './support/nats';
import { PG, databaseEnv } from './support/postgres';
import { SECRET_KEY, createTestDatabase } from './support/test-app';
import { newUserBody } from './support/users';

const WRITERS = 4;

interface LogLine {
  level: string;
  msg: string;
  err?: unknown;
}

const logLines = (app: BuiltApp): LogLine[] =>
  app
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);

function appEnv(database: string, nats: Record<string, string>): Record<string, string> {
  return {
    ...databaseEnv(database),
    ...nats,
    USERS_LOG_LEVEL: 'info',
    USERS_DB_POOL_SIZE: '5',
    USERS_SECRET_KEY: SECRET_KEY,
    USERS_ADMIN_PASSWORD: 'cluster-test-admin-password',
    USERS_ALLOW_SELF_REGISTER: 'true',
    USERS_ALLOW_UNVERIFIED_USER: 'true',
    EMAIL_HOST: '',
    // Writers register in loops from one address: over the per-IP sign-up limit, not what this test is about.
    USERS_RATE_LIMIT_ENABLED: 'false',
  };
}

async function register(app: BuiltApp): Promise<{ status: number; id?: string }> {
  try {
    const response = await fetch(`${app.url}/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(newUserBody()) });
    const body = (await response.json()) as { id?: string };
    return { status: response.status, id: body.id };
  } catch {
    return { status: 0 }; // a cut connection
  }
}

describe('a 3-node NATS JetStream cluster losing the stream leader under writes (built app)', () => {
  const cluster = new NatsCluster(3);
  const stream = isolatedStream();
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let nats: NatsConnection;
  let app: BuiltApp;
  let db: Client;

  beforeAll(async () => {
    await cluster.start();
    database = await createTestDatabase();
    nats = await connect({ servers: cluster.urls.split(','), maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    // An existing deployment's stream, made with one replica: the service raises it to USERS_ES_REPLICAS.
    const manager = await nats.jetstreamManager();
    await manager.streams.add({ name: stream.stream, subjects: [`${stream.prefix}.>`], storage: StorageType.File, num_replicas: 1, duplicate_window: 600e9 });
    app = await startBuiltApp(appEnv(database.name, { ...stream.env(cluster.urls), USERS_ES_REPLICAS: '3' }));
    db = new Client({ ...PG, database: database.name });
    await db.connect();
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
    await nats?.close();
    await db?.end();
    await database?.drop();
    await cluster.destroy();
  });

  it('says in the log why a replica count the cluster cannot place is not applied, and keeps publishing', async () => {
    const other = isolatedStream();
    await (await nats.jetstreamManager()).streams.add({ name: other.stream, subjects: [`${other.prefix}.>`], storage: StorageType.File, num_replicas: 1 });
    const otherDatabase = await createTestDatabase();
    const second = await startBuiltApp(appEnv(otherDatabase.name, { ...other.env(cluster.urls), USERS_ES_REPLICAS: '5' }));
    try {
      const { id } = await register(second);
      await expectEventually(async () => expect((await storedMessages(nats, other.stream)).map((m) => m.payload.user_id)).toContain(id));
      const warning = logLines(second).find((line) => line.msg.startsWith(`the JetStream stream ${other.stream} keeps 1 replica(s): NATS refused USERS_ES_REPLICAS=5 (`));
      expect(warning).toMatchObject({ level: 'warn' });
      expect((await (await nats.jetstreamManager()).streams.info(other.stream)).config.num_replicas).toBe(1);
    } finally {
      await second.stop();
      await otherDatabase.drop();
    }
  }, 120_000);

  it('loses and duplicates no event, fails over without a restart, and stays ready', async () => {
    const manager = await nats.jetstreamManager();
    await expectEventually(async () => {
      const info = await manager.streams.info(stream.stream);
      expect(info.config.num_replicas).toBe(3);
      expect(info.cluster?.replicas?.filter((replica) => replica.current)).toHaveLength(2);
    }, 60_000);
    expect(logLines(app).map((line) => line.msg)).toContain('changed the JetStream stream replicas');

    const answers: { status: number; id?: string; at: number }[] = [];
    const readiness: number[] = [];
    let running = true;
    const writers = Array.from({ length: WRITERS }, async () => {
      while (running) answers.push({ ...(await register(app)), at: Date.now() });
    });
    const readinessProbe = (async () => {
      while (running) {
        readiness.push(await fetch(`${app.url}/health/ready`).then((r) => r.status, () => 0));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const created = (after = 0) => answers.filter((a) => a.status === 201 && a.at >= after).length;
    const sentAfter = async (after: number) => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox_events WHERE sent_at IS NOT NULL AND created_at >= to_timestamp($1 / 1000.0)`, [after])).rows[0].n;

    await expectEventually(async () => {
      expect(created()).toBeGreaterThanOrEqual(20);
      expect(await sentAfter(0)).toBeGreaterThanOrEqual(10);
    }, 60_000);

    // The node to kill: the stream leader, moved (a leader step-down elects another) until it is a node
    // the service is connected to, so that the relay loses its connection and the stream its leader at once.
    const serviceNodes = new Set<string>();
    for (const { name } of cluster.nodes) if ((await cluster.clientsOf(name)).includes('users-service')) serviceNodes.add(name);
    let leader = '';
    await expectEventually(async () => {
      leader = (await manager.streams.info(stream.stream)).cluster?.leader ?? '';
      if (!serviceNodes.has(leader)) await nats.request(`$JS.API.STREAM.LEADER.STEPDOWN.${stream.stream}`).catch(() => undefined);
      expect([...serviceNodes]).toContain(leader);
    }, 60_000);

    const killedAt = Date.now();
    await cluster.node(leader).server.stop('SIGKILL');
    await expectEventually(async () => {
      expect(created(killedAt)).toBeGreaterThanOrEqual(40);
      expect(await sentAfter(killedAt)).toBeGreaterThanOrEqual(20);
    }, 90_000);
    running = false;
    await Promise.all([...writers, readinessProbe]);

    // Everything recorded is published (the relay drains what waited for a retry).
    await expectEventually(async () => {
      const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox_events WHERE sent_at IS NULL`);
      expect(rows[0].n).toBe(0);
    }, 90_000);
    const { rows: outbox } = await db.query<{ id: string; user_id: string; operation: string }>(`SELECT id, user_id, operation FROM outbox_events`);
    let messages: StreamMessage[] = [];
    await expectEventually(async () => {
      messages = await storedMessages(nats, stream.stream);
      expect(messages.length).toBeGreaterThanOrEqual(outbox.length);
    }, 60_000);
    const timesPublished = new Map<string, number>();
    for (const message of messages) timesPublished.set(message.msgId ?? '', (timesPublished.get(message.msgId ?? '') ?? 0) + 1);
    const lost = outbox.filter((event) => !timesPublished.has(event.id));
    const duplicated = [...timesPublished.values()].filter((times) => times > 1).length;
    const acknowledged = answers.filter((a) => a.status === 201).map((a) => a.id);
    const createdUsers = new Set(messages.filter((m) => m.subject === `${stream.prefix}.user.create`).map((m) => m.payload.user_id));
    const { rows: failover } = await db.query<{ ms: number }>(
      `SELECT (extract(epoch FROM min(sent_at)) * 1000 - $1)::int AS ms FROM outbox_events WHERE created_at >= to_timestamp($1 / 1000.0)`,
      [killedAt],
    );
    const retries = logLines(app).filter((line) => line.msg === 'event not published; will retry').length;
    console.log(
      `NATS cluster, stream leader ${leader} killed (SIGKILL) under ${WRITERS} writers: ${answers.length} registrations ` +
        `(${acknowledged.length} answered 201, ${created(killedAt)} after the kill), ${outbox.length} events recorded, ${messages.length} in the stream; ` +
        `events lost ${lost.length}, duplicated ${duplicated}; ${retries} publish attempts retried; ` +
        `the first event recorded after the kill was in the stream ${failover[0].ms} ms after it; readiness ${readiness.length} probes, ${readiness.filter((s) => s !== 200).length} not 200`,
    );

    expect(answers.filter((a) => a.status !== 201)).toEqual([]);
    expect(lost).toEqual([]);
    expect(duplicated).toBe(0);
    expect(messages).toHaveLength(outbox.length);
    expect(acknowledged.filter((id) => !createdUsers.has(id))).toEqual([]);
    expect(readiness.filter((status) => status !== 200)).toEqual([]);
    // Failed over by itself: the same process, reporting NATS up through a surviving node.
    expect(app.process.exitCode).toBeNull();
    await expectEventually(async () => {
      const ready = (await (await fetch(`${app.url}/health/ready`)).json()) as { details: { nats: { status: string } } };
      expect(ready.details.nats.status).toBe('up');
    });
    // Nothing at error level but Nest's notice that a NATS connection dropped (it then reconnected to another node).
    const errors = logLines(app).filter((line) => line.level === 'error' || line.level === 'fatal');
    expect(errors.filter((line) => !line.msg.startsWith('NatsError: type: "disconnect"'))).toEqual([]);
  }, 300_000);
});

describe('USERS_ES_REPLICAS on a single NATS server', () => {
  it('is said in the log (one copy whatever the setting), and events flow into the stream as it is', async () => {
    const server = await new NatsServer().start();
    const stream = isolatedStream();
    const database = await createTestDatabase();
    const nats = await connect({ servers: server.url });
    let app: BuiltApp | undefined;
    try {
      await (await nats.jetstreamManager()).streams.add({ name: stream.stream, subjects: [`${stream.prefix}.>`], storage: StorageType.File });
      app = await startBuiltApp(appEnv(database.name, { ...stream.env(server.url), USERS_ES_REPLICAS: '3' }));
      const { id } = await register(app);
      await expectEventually(async () => expect((await storedMessages(nats, stream.stream)).map((m) => m.payload.user_id)).toContain(id));
      const warning = logLines(app).find((line) => line.msg === `USERS_ES_REPLICAS=3, but NATS is a single server, not a JetStream cluster: the stream ${stream.stream} has one copy`);
      expect(warning).toMatchObject({ level: 'warn' });
      expect((await (await nats.jetstreamManager()).streams.info(stream.stream)).config.num_replicas).toBe(1);
    } finally {
      await app?.stop();
      await nats.close();
      await database.drop();
      await server.destroy();
    }
  }, 120_000);
});
