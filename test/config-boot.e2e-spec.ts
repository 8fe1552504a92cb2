import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The real built service (`node dist/src/main.js`, as `npm run start:prod` runs it) refuses to boot
 * with a bad variable and says which (API.md §7, STYLE.md "Config"): exit code 1, the variable named,
 * no stack trace. It runs from an empty directory so that the development .env cannot fill the gaps.
 */

const REPO = join(__dirname, '..');
const MAIN = join(REPO, 'dist', 'src', 'main.js');
/** A guard against a hung process, not a timing assertion: a refused boot exits long before this. */
const EXIT_GUARD_MS = 30_000;

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

  function boot(env: Record<string, string>): Run {
    expect(existsSync(join(cwd, '.env'))).toBe(false);
    const result = spawnSync(process.execPath, [MAIN], { cwd, env: { ...baseEnv(cwd), ...env }, encoding: 'utf8', timeout: EXIT_GUARD_MS });
    return { status: result.status, signal: result.signal, output: `${result.stdout ?? ''}\n${result.stderr ?? ''}` };
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

  it('boots with the same environment when it is valid (the refusals above are the variables’ doing)', async () => {
    const child: ChildProcess = spawn(process.execPath, [MAIN], { cwd, env: { ...baseEnv(cwd), ...VALID_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    try {
      const outcome = await new Promise<string>((resolve) => {
        const guard = setTimeout(() => resolve('no start within the guard time'), EXIT_GUARD_MS);
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
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    }
  }, 60_000);
});
