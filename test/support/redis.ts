import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { freePort } from './built-app';
import { expectEventually } from './eventually';

/** The machine's Redis (.ci/run starts it). Tests that share it keep to a key prefix of their own. */
export const MACHINE_REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A USERS_REDIS_KEY_PREFIX no other test or run uses. */
export const uniqueKeyPrefix = () => `e2e-${randomBytes(6).toString('hex')}:`;

async function answers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * A redis-server of the test's own on a free port, without persistence, that the test may stop and
 * start again (the machine's Redis is never touched). `start()` waits until it answers PING,
 * `stop()` until its process is gone.
 */
export async function privateRedis() {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let server: ChildProcess | undefined;
  return {
    url,
    async start() {
      server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      await expectEventually(async () => expect(await answers(url)).toBe(true), 30_000);
    },
    async stop() {
      const running = server;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGKILL');
      await exited;
    },
    /** Empties it: each test counts from zero. */
    async flush() {
      const client = new Redis(url);
      try {
        await client.flushall();
      } finally {
        client.disconnect();
      }
    },
  };
}
