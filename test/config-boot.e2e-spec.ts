import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './support/built-app';

/**
 * The real built service (`node dist/src/main.js`, as `npm run start:prod` runs it) refuses to boot
 * with a bad variable and says which (API.md §7, STYLE.md "Config"): exit code 1, the variable named,
 * no stack trace. It runs from an empty directory so that the development .env cannot fill the gaps.
 */

const REPO = join(__dirname, '..');
const MAIN = join(REPO, 'dist', 'src', 'main.js');
/** A guard against a hung process, not a timing assertion: a refused boot exits long before this. */
const EXIT_GUARD_MS = 90_000;
/** The same for a start (PGlite migrating in memory), on a loaded machine. */
const START_GUARD_MS = 120_000;

const STACK_FRAME = /^\s*at\s+\S.*(:\d+:\d+\)?|\(native\)|\(<anonymous>\))\s*$/m;

/** The newest modification time under the inputs of `nest build`. */
function newestSourceMtime(): number {
  let newest = 0;
  const visit = (path: string) => {
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path)) visit(join(path, entry));
    } else if (!path.endsWith('.spec.ts')) {
      newest = Math.max(newest, stat.mtimeMs);
    }
  };
  for (const input of ['src', 'migrations', 'package.json', 'nest-cli.json', 'tsconfig.json', 'tsconfig.build.json']) {
    if (existsSync(join(REPO, input))) visit(join(REPO, input));
  }
  return newest;
}

/** Builds dist/ unless it is newer than every source file (the build takes ~15 s). */
function ensureBuilt() {
  if (existsSync(MAIN) && statSync(MAIN).mtimeMs >= newestSourceMtime()) return;
  execFileSync('npm', ['run', 'build'], { cwd: REPO, stdio: 'pipe', timeout: 170_000 });
}

/** A complete, valid environment that touches nothing outside the process (in-memory PGlite, port 0). */
const VALID_ENV: Record<string, string> = {
  USERS_LOG_LEVEL: 'info',
  USERS_HTTP_HOST: '127.0.0.1',
  USERS_HTTP_PORT: '0',
  USERS_DB_DRIVER: 'pglite',
  USERS_DB_PGLITE_DIR: 'memory://',
  USERS_SECRET_KEY: 'config-boot-test-secret-key-0123456789abcdef',
  USERS_ADMIN_EMAIL: 'admin@example.com',
  USERS_ADMIN_PASSWORD: 'config-boot-admin-password',
};

/** Only what node needs: nothing of the caller's environment (no NODE_ENV=test, no USERS_*). */
function baseEnv(cwd: string): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd };
}

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

describe('boot configuration (built app)', () => {
  let cwd: string;

  beforeAll(() => {
    ensureBuilt();
    cwd = mkdtempSync(join(tmpdir(), 'users-config-boot-'));
  }, 180_000);
  afterAll(() => {
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  function boot(env: Record<string, string>, directory = cwd): Run {
    if (directory === cwd) expect(existsSync(join(cwd, '.env'))).toBe(false);
    const result = spawnSync(process.execPath, [MAIN], { cwd: directory, env: { ...baseEnv(directory), ...env }, encoding: 'utf8', timeout: EXIT_GUARD_MS });
    return { status: result.status, signal: result.signal, output: `${result.stdout ?? ''}\n${result.stderr ?? ''}` };
  }

  /** A working directory holding `content` as its .env. */
  function withEnvFile(content: string | { copyOf: string }): string {
    const directory = mkdtempSync(join(tmpdir(), 'users-config-dotenv-'));
    if (typeof content === 'string') writeFileSync(join(directory, '.env'), content);
    else copyFileSync(content.copyOf, join(directory, '.env'));
    return directory;
  }

  function expectRefused(run: Run, variable: string) {
    // Compared as one object so that a failure shows what the process printed.
    expect({ status: run.status, signal: run.signal, namesVariable: run.output.includes(variable), output: run.output }).toEqual({
      status: 1,
      signal: null,
      namesVariable: true,
      output: expect.any(String),
    });
    expect(run.output).toMatch(/Invalid configuration/);
    expect(run.output).not.toMatch(STACK_FRAME);
    expect(run.output).not.toMatch(/node_modules|dist\/src\/\S+\.js:\d+/);
  }

  it('refuses USERS_HTTP_PORT=abc, naming it', () => {
    expectRefused(boot({ ...VALID_ENV, USERS_HTTP_PORT: 'abc' }), 'USERS_HTTP_PORT');
  }, 60_000);

  it('refuses to boot without USERS_SECRET_KEY, naming it', () => {
    const { USERS_SECRET_KEY: _omitted, ...env } = VALID_ENV;
    expectRefused(boot(env), 'USERS_SECRET_KEY');
  }, 60_000);

  it('refuses a USERS_SECRET_KEY that is too short, naming it and not echoing it', () => {
    const run = boot({ ...VALID_ENV, USERS_SECRET_KEY: 'short-secret-value' });
    expectRefused(run, 'USERS_SECRET_KEY');
    expect(run.output).not.toContain('short-secret-value');
  }, 60_000);

  it('refuses USERS_DB_DRIVER=mysql, naming it', () => {
    expectRefused(boot({ ...VALID_ENV, USERS_DB_DRIVER: 'mysql' }), 'USERS_DB_DRIVER');
  }, 60_000);

  it('refuses USERS_ACCESS_TOKEN_DURATION=soon, naming it', () => {
    expectRefused(boot({ ...VALID_ENV, USERS_ACCESS_TOKEN_DURATION: 'soon' }), 'USERS_ACCESS_TOKEN_DURATION');
  }, 60_000);

  it('reports every bad variable at once, each with a message that fits, and no stack', () => {
    const { USERS_SECRET_KEY: _omitted, ...env } = VALID_ENV;
    const run = boot({ ...env, USERS_DB_PORT: 'abc', USERS_HTTP_SERVER_CERT: '/nonexistent.pem', USERS_HTTP_SERVER_KEY: '/nonexistent-key.pem' });
    for (const variable of ['USERS_DB_PORT', 'USERS_SECRET_KEY', 'USERS_HTTP_SERVER_CERT', 'USERS_HTTP_SERVER_KEY']) expectRefused(run, variable);
    expect(run.output).toContain('USERS_DB_PORT must be a whole number from 1 to 65535 (got "abc")');
    expect(run.output).toContain('USERS_SECRET_KEY is required (e.g. `openssl rand -base64 48`)');
    expect(run.output).toContain('USERS_HTTP_SERVER_CERT cannot be read: "/nonexistent.pem" (no such file)');
    expect(run.output).not.toContain('ENOENT');
  }, 60_000);

  it('reads .env in development (NODE_ENV unset), and never with NODE_ENV=production or test', () => {
    const { USERS_HTTP_PORT: _port, ...env } = VALID_ENV;
    const directory = withEnvFile('USERS_HTTP_PORT=not-a-port\n');
    try {
      expectRefused(boot(env, directory), 'USERS_HTTP_PORT');
      // Not read: the same environment would now be refused for the reasons of production or of nothing.
      const production = boot({ ...env, NODE_ENV: 'production' }, directory);
      expect(production.output).not.toContain('USERS_HTTP_PORT');
      const test = boot({ ...env, NODE_ENV: 'test', USERS_HTTP_PORT: 'abc' }, directory);
      expect(test.output).not.toContain('not-a-port');
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  }, 90_000);

  it('production ignores the committed .env: without its own variables it refuses to start (the development key is never used)', () => {
    const directory = withEnvFile({ copyOf: join(REPO, '.env') });
    try {
      const run = boot({ NODE_ENV: 'production' }, directory);
      expectRefused(run, 'USERS_SECRET_KEY');
      expect(run.output).toContain('USERS_SECRET_KEY is required');
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  }, 60_000);

  it('production refuses the development key, a default admin password, PGlite and mails in the log, all named at once', () => {
    const run = boot({
      ...VALID_ENV,
      NODE_ENV: 'production',
      USERS_SECRET_KEY: 'development-only-secret-key-change-me-in-production',
      USERS_ADMIN_PASSWORD: '12345678',
      USERS_DB_DRIVER: 'pglite',
      EMAIL_HOST: '',
    });
    for (const variable of ['USERS_SECRET_KEY is the public development key', 'USERS_ADMIN_PASSWORD is a well-known default', 'USERS_DB_DRIVER=pglite', 'EMAIL_HOST is empty']) {
      expectRefused(run, variable);
    }
    expect(run.output).not.toContain('12345678');
  }, 60_000);

  it('retries a database that does not answer, one JSON line per attempt, then exits 1 without a stack', async () => {
    const port = await freePort();
    const run = boot({
      ...VALID_ENV,
      USERS_DB_DRIVER: 'postgres',
      USERS_DB_HOST: '127.0.0.1',
      USERS_DB_PORT: String(port),
      USERS_DB_CONNECT_ATTEMPTS: '3',
      USERS_DB_CONNECT_RETRY_DELAY: '100ms',
    });
    expect(run.status).toBe(1);
    const lines = run.output.split('\n').filter((line) => line.trim() !== '');
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const attempts = parsed.filter((line) => String(line.msg).startsWith('database not ready'));
    expect(attempts.map((line) => [line.level, line.attempt, line.attempts])).toEqual([
      ['warn', 1, 3],
      ['warn', 2, 3],
      ['error', 3, 3],
    ]);
    expect(attempts[0]).toMatchObject({ retry_in_ms: 100, error: { code: 'ECONNREFUSED' } });
    expect(parsed.at(-1)).toMatchObject({ level: 'fatal', msg: 'the service could not start' });
    expect(run.output).not.toMatch(STACK_FRAME);
    expect(run.output).not.toContain('\u001b[');
  }, 60_000);

  it('boots with the same environment when it is valid (the refusals above are the variables’ doing): logs its configuration once, in order, and not its probes', async () => {
    const child: ChildProcess = spawn(process.execPath, [MAIN], { cwd, env: { ...baseEnv(cwd), ...VALID_ENV, USERS_DB_PASSWORD: 'a-typo' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    try {
      const outcome = await new Promise<string>((resolve) => {
        const guard = setTimeout(() => resolve('no start within the guard time'), START_GUARD_MS);
        const onData = (chunk: Buffer) => {
          output += chunk.toString();
          if (/successfully started/.test(output)) {
            clearTimeout(guard);
            resolve('started');
          }
        };
        child.stdout!.on('data', onData);
        child.stderr!.on('data', onData);
        child.once('exit', (code) => {
          clearTimeout(guard);
          resolve(`exited with ${code}`);
        });
      });
      expect({ outcome, output }).toEqual({ outcome: 'started', output: expect.any(String) });
      const url = /Server listening at (http:\/\/[\d.]+:\d+)/.exec(output)![1];
      for (let probe = 0; probe < 3; probe++) expect((await fetch(`${url}/health/ready`)).status).toBe(200);
      expect((await fetch(`${url}/users/profile`)).status).toBe(401);
      await new Promise<void>((resolve) => {
        const check = () => (/"url":"\/users\/profile"/.test(output) ? resolve() : setTimeout(check, 50));
        check();
      });

      const lines = output.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as Record<string, any>);
      for (const line of lines) {
        expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        expect(['debug', 'info', 'warn', 'error', 'fatal']).toContain(line.level);
      }
      const messages = lines.map((line) => String(line.msg));
      const order = ['starting', 'configuration', 'connecting to the database', 'Nest application successfully started'].map((msg) => messages.indexOf(msg));
      expect(order.every((index, i) => index >= 0 && (i === 0 || index > order[i - 1]))).toBe(true);
      expect(messages.findIndex((msg) => msg.startsWith('Server listening at'))).toBeGreaterThan(messages.indexOf('HealthModule dependencies initialized'));

      const configuration = lines.filter((line) => line.msg === 'configuration');
      expect(configuration).toHaveLength(1);
      expect(configuration[0].config).toMatchObject({
        USERS_SECRET_KEY: { value: '[MASKED]', source: 'env' },
        USERS_ADMIN_PASSWORD: { value: '[MASKED]', source: 'env' },
        USERS_DB_DRIVER: { value: 'pglite', source: 'env' },
        USERS_DB_PORT: { value: 5432, source: 'default' },
      });
      expect(output).not.toContain(VALID_ENV.USERS_SECRET_KEY);
      expect(output).not.toContain(VALID_ENV.USERS_ADMIN_PASSWORD);
      expect(messages).toContain('USERS_DB_PASSWORD is not a variable of this service and is ignored; did you mean USERS_DB_PASS?');

      // Probes are not logged at info (one line per request otherwise).
      expect(lines.filter((line) => String(line.req?.url).startsWith('/health'))).toEqual([]);
      expect(lines.filter((line) => line.req?.url === '/users/profile')).toHaveLength(1);

      // One line at shutdown, the last, with what was drained.
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      const last = JSON.parse(output.trim().split('\n').at(-1)!) as Record<string, any>;
      expect(last).toMatchObject({ level: 'info', msg: 'stopped', signal: 'SIGTERM', drained: { MailSender: { batch_in_flight: expect.any(Boolean) } } });
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    }
  }, 180_000);
});
