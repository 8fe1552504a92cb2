import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const MAIN = resolve(__dirname, '../../dist/src/main.js');

export interface BuiltApp {
  url: string;
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}

/**
 * Runs the compiled service (`npm run build` makes dist/, as `npm test` does before the e2e tests) as
 * a separate process, from an empty working directory so that no .env is read: the environment is
 * exactly `env`.
 */
export function runBuiltApp(env: Record<string, string>, cwd = mkdtempSync(join(tmpdir(), 'users-app-')), nodeArgs: string[] = []): ChildProcess & { output(): string } {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [...nodeArgs, MAIN], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  return Object.assign(child, { output: () => output });
}

/**
 * Starts the built service; `ready()` waits until /health/ready answers 200 (and stops it if it never
 * does). It stops at once on SIGTERM (no USERS_SHUTDOWN_DELAY: no load balancer has to take it out)
 * unless `env` says otherwise. `nodeArgs` go to node before the script (`--expose-gc`, `-r` a preload).
 */
export async function launchBuiltApp(env: Record<string, string>, nodeArgs: string[] = []): Promise<BuiltApp & { ready(timeoutMs?: number): Promise<void> }> {
  const port = await freePort();
  const child = runBuiltApp({ USERS_HTTP_HOST: '127.0.0.1', USERS_HTTP_PORT: String(port), USERS_SHUTDOWN_DELAY: '0s', ...env }, undefined, nodeArgs);
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise((done) => child.once('exit', done));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  };
  const ready = async (timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode}:\n${child.output()}`);
      if (await fetch(`${url}/health/ready`).then((r) => r.ok, () => false)) return;
      await new Promise((done) => setTimeout(done, 250));
    }
    await stop();
    throw new Error(`the service was not ready after ${timeoutMs} ms:\n${child.output()}`);
  };
  return { url, process: child, output: child.output, stop, ready };
}

/** Starts the built service and waits until /health/ready answers 200. */
export async function startBuiltApp(env: Record<string, string>, timeoutMs = 60_000): Promise<BuiltApp> {
  const app = await launchBuiltApp(env);
  await app.ready(timeoutMs);
  return app;
}
