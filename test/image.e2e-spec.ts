/**
 * The Docker image without a Docker engine: the Dockerfile's stages followed in scratch folders, as
 * they are written — the build stage's COPYs from this checkout and its RUNs (`npm ci` from the
 * machine's npm cache, the build, `npm prune --omit=dev`), then the image stage's COPYs from the build
 * stage, its ENV and CMD. The pruned tree must start on a fresh database (it migrates it), serve a
 * registration (with its mail, rendered from the image's templates) and a login, export their traces
 * (the OpenTelemetry SDK is loaded only when tracing is on) and pass the Dockerfile's HEALTHCHECK: no
 * dev dependency is needed at run time.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, posix, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { freePort } from './support/built-app';
import { DockerInstruction, dockerfileEnv, dockerfileStages } from './support/dockerfile';
import { expectEventually } from './support/eventually';
import { MACHINE_NATS, isolatedStream } from './support/nats';
import { PG, databaseEnv, dropDatabase, withAdminClient } from './support/postgres';
import { OtlpReceiver, SPAN_KIND } from './support/otlp-receiver';
import { SmtpSink } from './support/smtp-sink';
import { newUserBody } from './support/users';

const run = promisify(execFile);
const REPO = resolve(__dirname, '..');
/** System packages (the build stage's compilers, in case argon2 had to compile) are the machine's here. */
const SYSTEM_PACKAGES = /^apt-get\b/;

/** `COPY [--from=stage] [--chown=…] <sources…> <destination>`, sources read from `context`, relative to `contextWorkdir` when absolute. */
async function copy(instruction: DockerInstruction, context: string, contextWorkdir: string, into: string): Promise<void> {
  const words = instruction.args.split(/\s+/).filter((word) => !word.startsWith('--'));
  const destination = words.pop()!;
  for (const source of words) {
    const from = join(context, posix.isAbsolute(source) ? posix.relative(contextWorkdir, source) : source);
    const to = destination.endsWith('/') ? join(into, destination, basename(source)) : join(into, destination);
    mkdirSync(join(to, '..'), { recursive: true });
    // Hard links: a copy that takes no time and no space (nothing writes to these files).
    await run('cp', ['-al', from, to]);
  }
}

async function runStep(command: string, cwd: string): Promise<void> {
  // npm takes the packages from the machine's cache (npm_config_prefer_offline), the registry only for what is missing.
  await run('sh', ['-c', command], { cwd, env: { ...process.env, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' }, maxBuffer: 64 * 1024 * 1024 });
}

describe('the Docker image, followed stage by stage without Docker', () => {
  const stages = dockerfileStages();
  const [image] = stages.slice(-1);
  const build = stages.find((stage) => stage.name && image.instructions.some((i) => i.keyword === 'COPY' && i.args.includes(`--from=${stage.name}`)))!;
  const workdirOf = (instructions: DockerInstruction[]) => instructions.find((i) => i.keyword === 'WORKDIR')!.args;
  const scratch = mkdtempSync(join(tmpdir(), 'users-image-'));
  const buildDir = join(scratch, 'build');
  const imageDir = join(scratch, 'image');
  const database = { name: `${process.env.USERS_E2E_RUN_PREFIX}_image_${process.pid}` };
  const smtp = new SmtpSink();
  const traces = new OtlpReceiver();
  let app: ChildProcess | undefined;
  let output = '';

  beforeAll(async () => {
    mkdirSync(buildDir);
    mkdirSync(imageDir);
    await smtp.start();
    await traces.start();
    await withAdminClient((client) => client.query(`CREATE DATABASE "${database.name}"`));
  });

  afterAll(async () => {
    if (app && app.exitCode === null) {
      const exited = new Promise((done) => app!.once('exit', done));
      app.kill('SIGTERM');
      await exited;
    }
    await smtp.stop();
    await traces.stop();
    await withAdminClient((client) => dropDatabase(client, database.name));
    rmSync(scratch, { recursive: true, force: true });
  });

  it('the build stage: copies, installs, builds and prunes the dev dependencies', async () => {
    for (const instruction of build.instructions) {
      if (instruction.keyword === 'COPY') await copy(instruction, REPO, '/', buildDir);
      else if (instruction.keyword === 'RUN' && !SYSTEM_PACKAGES.test(instruction.args)) await runStep(instruction.args, buildDir);
    }
    expect(existsSync(join(buildDir, 'dist/src/main.js'))).toBe(true);
    // Pruned: the build and test tools are gone (typescript stays: typeorm's ts-node peer pulls it in).
    for (const devOnly of ['@nestjs/cli', 'jest', 'supertest', 'playwright-core']) expect({ devOnly, present: existsSync(join(buildDir, 'node_modules', devOnly)) }).toEqual({ devOnly, present: false });
  }, 900_000);

  it('the image stage: starts with its ENV and CMD, migrates a fresh database, serves, and passes its HEALTHCHECK', async () => {
    for (const instruction of image.instructions.filter((i) => i.keyword === 'COPY')) {
      const fromBuild = instruction.args.includes(`--from=${build.name}`);
      await copy(instruction, fromBuild ? buildDir : REPO, fromBuild ? workdirOf(build.instructions) : '/', imageDir);
    }
    const port = await freePort();
    const stream = isolatedStream();
    const env = {
      PATH: process.env.PATH ?? '',
      ...dockerfileEnv(),
      // What `docker run -e …` would add: the deployment's own settings, and a free port for this machine.
      USERS_HTTP_PORT: String(port),
      ...databaseEnv(database.name),
      ...stream.env(MACHINE_NATS),
      USERS_SECRET_KEY: 'image-test-secret-key-0123456789abcdef-0123',
      USERS_ADMIN_PASSWORD: 'image-test-admin-password',
      USERS_ALLOW_SELF_REGISTER: 'true',
      USERS_ALLOW_UNVERIFIED_USER: 'true',
      EMAIL_HOST: '127.0.0.1',
      EMAIL_PORT: String(smtp.port),
      EMAIL_FROM_ADDRESS: 'no-reply@example.com',
      USERS_OTEL_EXPORTER_URL: traces.url,
    };
    const [command, ...args] = JSON.parse(image.instructions.find((i) => i.keyword === 'CMD')!.args) as string[];
    app = spawn(command === 'node' ? process.execPath : command, args, { cwd: imageDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    app.stdout!.on('data', (chunk) => (output += chunk));
    app.stderr!.on('data', (chunk) => (output += chunk));
    const url = `http://127.0.0.1:${port}`;
    await expectEventually(async () => {
      expect({ exitCode: app!.exitCode, output: app!.exitCode === null ? '' : output }).toEqual({ exitCode: null, output: '' });
      expect((await fetch(`${url}/health/ready`)).status).toBe(200);
    }, 90_000);

    const body = newUserBody();
    const registered = await fetch(`${url}/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(registered.status).toBe(201);
    const mail = await smtp.waitFor(body.email);
    expect(mail.html).toContain('token=');
    const login = await fetch(`${url}/users/tokens/issue`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ identity: body.email, secret: body.credentials.secret }) });
    expect(login.status).toBe(201);
    expect(((await login.json()) as { access_token?: string }).access_token).toBeTruthy();

    await expectEventually(() => expect(traces.spans.filter((span) => span.kind === SPAN_KIND.SERVER).length).toBeGreaterThanOrEqual(2), 60_000);

    // The Dockerfile's own HEALTHCHECK command, run as Docker would, in the container's environment.
    const healthcheck = /CMD\s+(.*)$/.exec(image.instructions.find((i) => i.keyword === 'HEALTHCHECK')!.args)![1];
    await expect(run('sh', ['-c', healthcheck.replace(/^node\b/, process.execPath)], { cwd: imageDir, env })).resolves.toBeDefined();

    const db = new Client({ ...PG, database: database.name });
    await db.connect();
    const { rows } = await db.query<{ name: string }>('SELECT name FROM migrations ORDER BY id').finally(() => db.end());
    expect(rows.map((row) => row.name)).toEqual(expect.arrayContaining([expect.stringMatching(/^CreateUsers\d+$/)]));
    const lines = output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { level: string });
    expect(lines.filter((line) => line.level === 'error' || line.level === 'fatal')).toEqual([]);
  }, 180_000);
});
