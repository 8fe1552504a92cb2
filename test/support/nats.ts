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

export async function deleteStream(nc: NatsConnection, stream: string): Promise<void> {
  await (await nc.jetstreamManager()).streams.delete(stream).catch(() => undefined);
}

/**
 * A nats-server of the test's own (JetStream on, own store), that can be stopped and started again on
 * its port. `config` is a configuration file's text (e.g. accounts and permissions), `env` the server's
 * environment (variables the file refers to), `probe` how to connect when checking it is up.
 */
export class NatsServer {
  private child?: ChildProcess;
  private readonly storeDir = mkdtempSync(join(tmpdir(), 'users-nats-'));
  port = 0;

  constructor(private readonly options: { config?: string; env?: Record<string, string>; probe?: Partial<ConnectionOptions> } = {}) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    if (!this.port) this.port = await freePort();
    const config = this.options.config === undefined ? [] : ['-c', join(this.storeDir, 'nats.conf')];
    if (this.options.config !== undefined) writeFileSync(config[1], this.options.config);
    const child = spawn(NATS_SERVER, [...config, '-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir], {
      stdio: 'ignore',
      env: { ...process.env, ...this.options.env },
    });
    this.child = child;
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}`);
      const nc = await connect({ ...this.options.probe, servers: this.url, reconnect: false }).catch(() => undefined);
      if (nc) {
        await nc.jetstreamManager().then(() => nc.close());
        return this;
      }
      if (Date.now() > deadline) throw new Error('nats-server did not start');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.storeDir, { recursive: true, force: true });
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
