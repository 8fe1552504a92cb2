import { ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { expectEventually } from './support/eventually';
import { PG, databaseEnv, dropDatabase, withAdminClient } from './support/postgres';
import { MIGRATIONS as ALL_MIGRATIONS } from '../migrations';
import { BuiltApp, launchBuiltApp, runBuiltApp } from './support/built-app';

/**
 * The migrate command as the image runs it: `node dist/src/migrate.js` from a tree holding only the
 * build, package.json and the dependencies (no src/, no migrations/*.ts, no tsconfig), with the
 * Dockerfile's NODE_OPTIONS (160 MiB old generation) and a guard that fails on any development
 * dependency (ts-node, typescript, …) being loaded.
 */
const REPO = resolve(__dirname, '..');
const MIGRATION_LOCK_ID = 7_243_001;
/** Every migration's name, in order, as migrations/index.ts lists them. */
const MIGRATIONS = ALL_MIGRATIONS.map((migration) => new migration().name);
const NEWEST = MIGRATIONS[MIGRATIONS.length - 1];

function imageLikeTree(): string {
  const tree = mkdtempSync(join(tmpdir(), 'users-image-'));
  cpSync(join(REPO, 'dist'), join(tree, 'dist'), { recursive: true });
  cpSync(join(REPO, 'package.json'), join(tree, 'package.json'));
  cpSync(join(REPO, 'templates'), join(tree, 'templates'), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(tree, 'node_modules'), 'dir');
  const devDependencies = Object.keys((JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies);
  writeFileSync(
    join(tree, 'no-dev-dependencies.js'),
    `const Module = require('module');
const dev = new Set(${JSON.stringify(devDependencies)});
const load = Module._load;
Module._load = function (request, ...rest) {
  const name = request.startsWith('@') ? request.split('/').slice(0, 2).join('/') : request.split('/')[0];
  if (dev.has(name)) throw new Error('a development dependency was loaded: ' + request);
  return load.call(this, request, ...rest);
};\n`,
  );
  return tree;
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('node dist/src/migrate.js from an image-like tree', () => {
  let tree: string;
  const database = `${process.env.USERS_E2E_RUN_PREFIX}_migrate_${process.pid}`;
  const env = () => ({
    PATH: process.env.PATH ?? '',
    HOME: tree,
    NODE_ENV: 'production',
    NODE_OPTIONS: `--max-semi-space-size=4 --max-old-space-size=160 --require ${join(tree, 'no-dev-dependencies.js')}`,
    ...databaseEnv(database),
  });

  function start(command: string, extra: Record<string, string> = {}): ChildProcess & { result: Promise<Result> } {
    const child = spawn(process.execPath, ['dist/src/migrate.js', command], { cwd: tree, env: { ...env(), ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const result = new Promise<Result>((done) => child.once('exit', (code) => done({ code, stdout, stderr })));
    return Object.assign(child, { result });
  }
  const migrate = (command: string, extra: Record<string, string> = {}) => start(command, extra).result;

  beforeAll(async () => {
    tree = imageLikeTree();
    await withAdminClient((client) => client.query(`CREATE DATABASE "${database}"`));
  });
  afterAll(async () => {
    await withAdminClient((client) => dropDatabase(client, database));
    rmSync(tree, { recursive: true, force: true });
  });

  it('status, run, revert and run again, naming the target first', async () => {
    const target = `target: postgres://${PG.user}@${PG.host}:${PG.port}/${database} (production; USERS_DB_DRIVER=postgres from the environment, USERS_DB_HOST=${PG.host} from the environment)`;
    const before = await migrate('status');
    expect(before).toEqual({ code: 0, stderr: '', stdout: [target, ...MIGRATIONS.map((name) => `pending  ${name}`), `${MIGRATIONS.length} pending of ${MIGRATIONS.length}`, ''].join('\n') });

    const run = await migrate('run');
    expect(run).toEqual({ code: 0, stderr: '', stdout: [target, ...MIGRATIONS.map((name) => `ran      ${name}`), `migrated: ${MIGRATIONS.length} migration(s)`, ''].join('\n') });
    expect((await migrate('run')).stdout).toContain('nothing to migrate: the schema is up to date');
    expect((await migrate('status')).stdout).toContain(`0 pending of ${MIGRATIONS.length}`);

    const revert = await migrate('revert');
    expect(revert).toMatchObject({ code: 0, stdout: expect.stringContaining(`reverted ${NEWEST}`) });
    expect((await migrate('status')).stdout).toContain(`pending  ${NEWEST}`);
    expect((await migrate('run')).stdout).toContain(`ran      ${NEWEST}`);
  }, 120_000);

  it('waits for the advisory lock the service takes at boot', async () => {
    const holder = new Client({ ...PG, database });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
      const child = start('run');
      // It is blocked on the lock (not finished, not failed) while another session holds it.
      await expectEventually(async () => {
        const { rows } = await holder.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted`, [MIGRATION_LOCK_ID]);
        expect(rows[0].n).toBe(1);
      }, 60_000);
      expect(child.exitCode).toBeNull();
      await holder.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
      expect(await child.result).toMatchObject({ code: 0, stdout: expect.stringContaining('nothing to migrate') });
    } finally {
      await holder.end();
    }
  }, 90_000);

  it('says so, naming the variable, when the configuration is bad; and how to call it', async () => {
    expect(await migrate('run', { USERS_DB_PORT: 'abc' })).toMatchObject({ code: 1, stderr: expect.stringContaining('USERS_DB_PORT must be a whole number from 1 to 65535') });
    expect(await migrate('sideways')).toMatchObject({ code: 2, stderr: 'usage: node dist/src/migrate.js status|run|revert\n' });
  }, 60_000);

  it('with USERS_DB_MIGRATE_ON_BOOT=false the service does not migrate: it waits for the schema, then gives up naming the command', async () => {
    const empty = `${database}_empty`;
    await withAdminClient((client) => client.query(`CREATE DATABASE "${empty}"`));
    try {
      const child = runBuiltApp({
        ...databaseEnv(empty),
        USERS_SECRET_KEY: 'migrate-test-secret-key-0123456789abcdefgh',
        USERS_ADMIN_PASSWORD: 'migrate-test-admin-password',
        USERS_ES_URL: '',
        EMAIL_HOST: '',
        USERS_HTTP_HOST: '127.0.0.1',
        USERS_HTTP_PORT: '0',
        USERS_DB_MIGRATE_ON_BOOT: 'false',
        USERS_DB_CONNECT_ATTEMPTS: '2',
        USERS_DB_CONNECT_RETRY_DELAY: '100ms',
      });
      const code = await new Promise((done) => child.once('exit', done));
      expect(code).toBe(1);
      expect(child.output()).toContain('the schema is not migrated (pending: CreateUsers1732500000000');
      expect(child.output()).toContain('run `node dist/src/migrate.js run`');
      const { rows } = await withAdminClient(async () => {
        const client = new Client({ ...PG, database: empty });
        await client.connect();
        try {
          return await client.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename = 'users'`);
        } finally {
          await client.end();
        }
      });
      expect(rows[0].n).toBe(0);
    } finally {
      await withAdminClient((client) => dropDatabase(client, empty));
    }
  }, 90_000);
});

describe('three replicas starting together on an empty database', () => {
  const database = `${process.env.USERS_E2E_RUN_PREFIX}_together_${process.pid}`;
  const allowConnections = (allow: boolean) => withAdminClient((client) => client.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS ${allow}`));
  beforeAll(() => withAdminClient((client) => client.query(`CREATE DATABASE "${database}"`)));
  afterAll(() => withAdminClient((client) => dropDatabase(client, database)));

  it('all boot, the schema is migrated once, by one of them, and one admin is made', async () => {
    const env = {
      ...databaseEnv(database),
      USERS_SECRET_KEY: 'together-test-secret-key-0123456789abcdefgh',
      USERS_ADMIN_PASSWORD: 'together-test-admin-password',
      USERS_ES_URL: '',
      EMAIL_HOST: '',
      USERS_DB_CONNECT_ATTEMPTS: '600',
      USERS_DB_CONNECT_RETRY_DELAY: '100ms',
    };
    const notReady = (replica: BuiltApp) => logLines(replica).filter((line) => line.msg === 'database not ready');
    // The database refuses connections until all three are trying: then they connect within 100 ms
    // of each other and meet at the migration lock, however unevenly the machine started them.
    await allowConnections(false);
    const replicas = await Promise.all([launchBuiltApp(env), launchBuiltApp(env), launchBuiltApp(env)]);
    try {
      await expectEventually(() => expect(replicas.map((replica) => notReady(replica).length > 0)).toEqual([true, true, true]), 90_000);
      await allowConnections(true);
      await Promise.all(replicas.map((replica) => replica.ready(90_000)));

      const client = new Client({ ...PG, database });
      await client.connect();
      try {
        const applied = await client.query<{ name: string }>(`SELECT name FROM migrations ORDER BY id`);
        expect(applied.rows.map((row) => row.name)).toEqual(MIGRATIONS);
        const admins = await client.query(`SELECT count(*)::int AS n FROM users WHERE role = 'admin'`);
        expect(admins.rows[0].n).toBe(1);
      } finally {
        await client.end();
      }
      // One migrated; the others waited for the lock and found nothing pending. None failed and
      // retried (a start that only succeeds at its next attempt would hide a missing lock).
      expect(replicas.map((replica) => logLines(replica).filter((line) => line.msg === 'migrated the database').length).sort()).toEqual([0, 0, 1]);
      const failures = replicas.flatMap(notReady).filter((line) => !/not currently accepting connections/.test(line.error?.message ?? ''));
      expect(failures).toEqual([]);
    } finally {
      await allowConnections(true);
      await Promise.all(replicas.map((replica) => replica.stop()));
    }
  }, 240_000);
});

function logLines(app: BuiltApp): { msg?: string; error?: { message?: string } }[] {
  return app
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
}
