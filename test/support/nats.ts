import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { JSONCodec, JsMsg, NatsConnection, connect } from 'nats';
import { parse } from 'yaml';
import { freePort } from './built-app';

/** The machine's NATS server (JetStream on), as the tests reach it. */
export const MACHINE_NATS = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const NATS_SERVER = process.env.TEST_NATS_SERVER ?? '/usr/sbin/nats-server';

const json = JSONCodec<Record<string, unknown>>();

/**
 * A subject prefix and stream of its own for one test file, so that files running side by side on
 * the machine's NATS never see each other's events. `env` configures an app to publish there.
 */
export function isolatedStream() {
  const tag = randomBytes(4).toString('hex');
  const prefix = `events.e2e${tag}`;
  const stream = `E2E_${tag}`;
  return { prefix, stream, env: (url: string) => ({ USERS_ES_URL: url, USERS_ES_SUBJECT_PREFIX: prefix, USERS_ES_STREAM: stream }) };
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

/** A nats-server of the test's own (JetStream on, own store), that can be stopped and started again on its port. */
export class NatsServer {
  private child?: ChildProcess;
  private readonly storeDir = mkdtempSync(join(tmpdir(), 'users-nats-'));
  port = 0;

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    if (!this.port) this.port = await freePort();
    const child = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir], { stdio: 'ignore' });
    this.child = child;
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}`);
      const nc = await connect({ servers: this.url, reconnect: false }).catch(() => undefined);
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
