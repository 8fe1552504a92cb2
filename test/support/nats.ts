import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { ConnectionOptions, JSONCodec, JsMsg, NatsConnection, connect } from 'nats';
import { parse } from 'yaml';
import { freePort } from './built-app';

/** The machine's NATS server (JetStream on), as the tests reach it. */
export const MACHINE_NATS = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const NATS_SERVER = process.env.TEST_NATS_SERVER ?? '/usr/sbin/nats-server';

const json = JSONCodec<Record<string, unknown>>();

/**
 * Event subjects, a stream, and NATS API subjects and queue group of its own for one test file, so
 * that files running side by side on the machine's NATS — also from other checkouts — never see each
 * other's events or answer each other's requests. `env` configures an app to use them; `api(name)`
 * is the subject of a NATS API request.
 */
export function isolatedStream() {
  const tag = randomBytes(4).toString('hex');
  const prefix = `events.e2e${tag}`;
  const stream = `E2E_${tag}`;
  const apiPrefix = `users.e2e${tag}`;
  return {
    prefix,
    stream,
    api: (name: string) => `${apiPrefix}.${name}`,
    env: (url: string) => ({ USERS_ES_URL: url, USERS_ES_SUBJECT_PREFIX: prefix, USERS_ES_STREAM: stream, USERS_ES_API_PREFIX: apiPrefix, USERS_ES_QUEUE_GROUP: `users-e2e${tag}` }),
  };
}

export interface StreamMessage {
  subject: string;
  msgId: string | undefined;
  payload: Record<string, unknown>;
}

/** Every message of a JetStream stream so far, in stream order (an ordered consumer). */
export async function readStream(nc: NatsConnection, stream: string): Promise<StreamMessage[]> {
  const info = await (await nc.jetstreamManager()).streams.info(stream);
  const total = info.state.messages;
  if (total === 0) return [];
  const consumer = await nc.jetstream().consumers.get(stream);
  const messages: StreamMessage[] = [];
  const iterator = await consumer.consume();
  for await (const message of iterator as AsyncIterable<JsMsg>) {
    messages.push({ subject: message.subject, msgId: message.headers?.get('Nats-Msg-Id') || undefined, payload: json.decode(message.data) });
    if (messages.length >= total) break;
  }
  await iterator.close();
  return messages;
}

/**
 * Every message of a stream, each fetched by its sequence number (no consumer: an ordered consumer's
 * iteration can wait for ever while a cluster elects a new leader; each of these requests times out).
 */
export async function storedMessages(nc: NatsConnection, stream: string): Promise<StreamMessage[]> {
  const manager = await nc.jetstreamManager();
  const { state } = await manager.streams.info(stream);
  const messages: StreamMessage[] = [];
  for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
    const message = await manager.streams.getMessage(stream, { seq });
    messages.push({ subject: message.subject, msgId: message.header.get('Nats-Msg-Id') || undefined, payload: json.decode(message.data) });
  }
  return messages;
}

/** Waits until the stream holds `predicate`-matching messages (a guard against a hang, not a timing assertion). */
export async function waitForStream(nc: NatsConnection, stream: string, predicate: (messages: StreamMessage[]) => boolean, timeoutMs = 60_000): Promise<StreamMessage[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const messages = await readStream(nc, stream).catch(() => []);
    if (predicate(messages)) return messages;
    if (Date.now() > deadline) throw new Error(`the stream ${stream} did not get there after ${timeoutMs} ms (${messages.length} messages)`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Deletes the test streams that runs which died left on the machine's NATS: each reserves its
 * max_bytes, and enough of them make JetStream refuse new streams ("insufficient storage
 * resources"). A stream older than any test file can run is nobody's.
 */
export async function deleteAbandonedTestStreams(url = MACHINE_NATS, olderThanMs = 60 * 60_000): Promise<number> {
  const nc = await connect({ servers: url, timeout: 5_000 });
  try {
    const manager = await nc.jetstreamManager();
    let deleted = 0;
    for await (const stream of manager.streams.list()) {
      const { name } = stream.config;
      if (name.startsWith('E2E_') && Date.now() - Date.parse(stream.created) > olderThanMs) {
        await manager.streams.delete(name).catch(() => undefined);
        deleted++;
      }
    }
    return deleted;
  } finally {
    await nc.close();
  }
}

export async function deleteStream(nc: NatsConnection, stream: string): Promise<void> {
  await (await nc.jetstreamManager()).streams.delete(stream).catch(() => undefined);
}

/**
 * A nats-server of the test's own (JetStream on, own store), that can be stopped and started again on
 * its port. `config` is a configuration file's text (e.g. accounts and permissions), `env` the server's
 * environment (variables the file refers to), `probe` how to connect when checking it is up, `args`
 * more command-line options (a cluster node's name and routes).
 */
export class NatsServer {
  private child?: ChildProcess;
  private readonly storeDir = mkdtempSync(join(tmpdir(), 'users-nats-'));
  port = 0;

  constructor(private readonly options: { config?: string; env?: Record<string, string>; probe?: Partial<ConnectionOptions>; args?: string[] } = {}) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Starts it and waits until it takes connections and JetStream answers. */
  async start(): Promise<this> {
    await this.spawn();
    const deadline = Date.now() + 20_000;
    while (!(await this.answers())) {
      if (Date.now() > deadline) throw new Error('nats-server did not start');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return this;
  }

  /** Starts the process without waiting (a cluster node answers only once its peers are up). */
  async spawn(): Promise<void> {
    if (!this.port) this.port = await freePort();
    const config = this.options.config === undefined ? [] : ['-c', join(this.storeDir, 'nats.conf')];
    if (this.options.config !== undefined) writeFileSync(config[1], this.options.config);
    this.child = spawn(NATS_SERVER, [...config, '-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir, ...(this.options.args ?? [])], {
      stdio: 'ignore',
      env: { ...process.env, ...this.options.env },
    });
  }

  /** Whether it takes a connection and its JetStream API answers (in a cluster: a meta leader is elected). */
  async answers(): Promise<boolean> {
    if (!this.child || this.child.exitCode !== null) throw new Error(`nats-server exited with ${this.child?.exitCode}`);
    const nc = await connect({ ...this.options.probe, servers: this.url, reconnect: false }).catch(() => undefined);
    if (!nc) return false;
    try {
      await nc.jetstreamManager();
      return true;
    } catch {
      return false;
    } finally {
      await nc.close();
    }
  }

  /** SIGTERM: a clean stop; SIGKILL: the node dies (a crash, a lost machine). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}

/**
 * A JetStream cluster of nats-servers of the test's own on free loopback ports, each node named
 * `n1`, `n2`, … with its client, cluster (route) and monitoring port.
 */
export class NatsCluster {
  nodes: { name: string; server: NatsServer; monitorPort: number }[] = [];

  constructor(private readonly size = 3) {}

  /** Every node's client URL, comma-separated (as USERS_ES_URL takes them). */
  get urls(): string {
    return this.nodes.map((node) => node.server.url).join(',');
  }

  async start(): Promise<this> {
    const routePorts = await Promise.all(Array.from({ length: this.size }, () => freePort()));
    const routes = routePorts.map((port) => `nats://127.0.0.1:${port}`).join(',');
    for (const [index, routePort] of routePorts.entries()) {
      const name = `n${index + 1}`;
      const monitorPort = await freePort();
      const args = ['-n', name, '-m', String(monitorPort), '--cluster_name', 'users-e2e', '--cluster', `nats://127.0.0.1:${routePort}`, '--routes', routes];
      this.nodes.push({ name, server: new NatsServer({ args }), monitorPort });
    }
    await Promise.all(this.nodes.map((node) => node.server.spawn()));
    const deadline = Date.now() + 60_000;
    for (const node of this.nodes) {
      while (!(await node.server.answers())) {
        if (Date.now() > deadline) throw new Error(`the NATS cluster did not form (node ${node.name})`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    return this;
  }

  node(name: string) {
    const node = this.nodes.find((candidate) => candidate.name === name);
    if (!node) throw new Error(`no node ${name}`);
    return node;
  }

  /** The names of the clients connected to a node (its monitoring endpoint, /connz). */
  async clientsOf(name: string): Promise<string[]> {
    const response = await fetch(`http://127.0.0.1:${this.node(name).monitorPort}/connz?limit=1024`);
    const { connections } = (await response.json()) as { connections?: { name?: string }[] };
    return (connections ?? []).map((connection) => connection.name ?? '');
  }

  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.server.destroy()));
  }
}

/** The payload schemas of asyncapi.yaml, by operation, compiled (formats checked). */
export function asyncApiValidators(): Map<string, ValidateFunction> {
  const doc = parse(readFileSync(join(__dirname, '../../asyncapi.yaml'), 'utf8')) as {
    components: { schemas: Record<string, unknown>; messages: Record<string, { name: string; payload: object }> };
  };
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: 'asyncapi', components: { schemas: doc.components.schemas } });
  const validators = new Map<string, ValidateFunction>();
  for (const message of Object.values(doc.components.messages)) {
    const schema = JSON.parse(JSON.stringify(message.payload).replace(/"#\/components\/schemas\//g, '"asyncapi#/components/schemas/'));
    validators.set(message.name, ajv.compile(schema));
  }
  return validators;
}

/** An outbox row, as the tests read it from the database. */
export interface OutboxRow {
  id: string;
  operation: string;
  created_at: Date;
  actor_id: string | null;
  request_id: string | null;
  user_id: string;
  data: Record<string, unknown>;
}

/** Checks outbox rows, published as the relay publishes them (eventPayload), against asyncapi.yaml's schema of their operation. */
export function expectOutboxRowsMatchAsyncApi(rows: OutboxRow[]): void {
  const validators = asyncApiValidators();
  for (const event of rows) {
    const validate = validators.get(event.operation);
    if (!validate) throw new Error(`asyncapi.yaml describes no ${event.operation}`);
    const payload = { event_id: event.id, operation: event.operation, occurred_at: event.created_at.toISOString(), actor_id: event.actor_id, request_id: event.request_id, user_id: event.user_id, ...event.data };
    expect({ operation: event.operation, valid: validate(payload), errors: validate.errors ?? null }).toEqual({ operation: event.operation, valid: true, errors: null });
  }
}
