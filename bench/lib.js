'use strict';
/**
 * Shared helpers for the benchmark: child processes (with guaranteed cleanup), local HTTP calls,
 * PostgreSQL administration, the load generator wrapper, RSS sampling, HS256 tokens and printing.
 * Everything here talks to 127.0.0.1 only.
 */
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const autocannon = require('autocannon');
const { Client } = require('pg');

const ROOT = path.resolve(__dirname, '..');
const HOST = '127.0.0.1';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The process settings the Dockerfile gives the service (V8 heap sizing, glibc malloc), read from the
 * Dockerfile itself so that the benchmark and production cannot drift apart.
 */
function productionRuntimeEnv() {
  const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const env = {};
  for (const name of ['NODE_OPTIONS', 'MALLOC_MMAP_THRESHOLD_', 'MALLOC_ARENA_MAX']) {
    const match = new RegExp(`\\b${name}=("([^"]*)"|\\S+)`).exec(dockerfile);
    if (!match) throw new Error(`the Dockerfile sets no ${name}`);
    env[name] = match[2] ?? match[1];
  }
  return env;
}

function envInt(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return Math.floor(value);
}

/** Ask the kernel for a free TCP port on 127.0.0.1. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Child processes. Each child gets its own process group (detached) so that it and anything it
// spawns (npm -> sh -> nest ...) can be signalled together by group id; all are killed on exit.
// ---------------------------------------------------------------------------------------------
const children = new Set();
let aborting = false; // set on SIGINT/SIGTERM: no new children, no new load runs

function isAborting() {
  return aborting;
}

function spawnChild(name, command, args, { env = process.env, cwd = ROOT, logFile, ipc = false } = {}) {
  if (aborting) throw new Error(`aborting: not starting ${name}`);
  const out = logFile ? fs.openSync(logFile, 'a') : 'ignore';
  const stdio = ['ignore', out, out];
  if (ipc) stdio.push('ipc');
  const child = spawn(command, args, { cwd, env, stdio, detached: true });
  if (typeof out === 'number') fs.closeSync(out); // the child holds its own copy
  const handle = { name, child, pid: child.pid, logFile, exitCode: undefined, signal: undefined };
  handle.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      handle.exitCode = code;
      handle.signal = signal;
      children.delete(handle);
      resolve({ code, signal });
    });
    child.on('error', (err) => {
      handle.spawnError = err;
      children.delete(handle);
      resolve({ code: null, signal: null, error: err });
    });
  });
  children.add(handle);
  return handle;
}

function isRunning(handle) {
  return handle.exitCode === undefined && handle.signal === undefined && !handle.spawnError;
}

function signalGroup(handle, signal) {
  try {
    process.kill(-handle.pid, signal); // the whole process group of this child
  } catch {
    try {
      handle.child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

/** SIGTERM the child's group, then SIGKILL after graceMs if it is still there. */
async function stopChild(handle, graceMs = 5000) {
  if (!handle || !isRunning(handle)) return;
  signalGroup(handle, 'SIGTERM');
  const timer = sleep(graceMs).then(() => 'timeout');
  if ((await Promise.race([handle.exited, timer])) === 'timeout') {
    signalGroup(handle, 'SIGKILL');
    await handle.exited;
  }
}

function stopAllChildren() {
  return Promise.all([...children].map((handle) => stopChild(handle, 3000)));
}

function killAllChildrenSync() {
  for (const handle of children) signalGroup(handle, 'SIGKILL');
}

/** Run a command to completion (output to logFile), resolving with its exit code. */
async function runCommand(name, command, args, options) {
  const handle = spawnChild(name, command, args, options);
  const { code, error } = await handle.exited;
  if (error) throw error;
  return code;
}

/**
 * Make sure children die and the database is dropped whatever happens: normal end, thrown
 * error, SIGINT/SIGTERM. `cleanup` is async and runs at most once; 'exit' is the sync backstop.
 */
function installCleanup(cleanup) {
  let running = null;
  const runOnce = () => (running ??= Promise.resolve().then(cleanup).catch((err) => console.error('cleanup failed:', err.message)));
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
    process.on(signal, () => {
      aborting = true;
      console.error(`\n${signal} received, cleaning up...`);
      runOnce().finally(() => process.exit(code));
    });
  }
  process.on('exit', killAllChildrenSync);
  return runOnce;
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** One JSON request to 127.0.0.1:port. Resolves {status, body, headers} (body parsed when JSON). */
function request(port, method, urlPath, { body, headers = {}, timeoutMs = 30000 } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(
      {
        host: HOST,
        port,
        method,
        path: urlPath,
        agent,
        timeout: timeoutMs,
        headers: {
          accept: 'application/json',
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            /* keep text */
          }
          resolve({ status: res.statusCode, body: parsed, headers: res.headers });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** Poll GET urlPath until it answers `status`; fail early if the child exits. */
async function waitForHttp(port, urlPath, { timeoutMs = 60000, status = 200, child } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child && !isRunning(child)) {
      throw new Error(`${child.name} exited (code ${child.exitCode}, signal ${child.signal}) before ${urlPath} answered; see ${child.logFile}`);
    }
    try {
      const res = await request(port, 'GET', urlPath, { timeoutMs: 2000 });
      if (res.status === status) return res;
      last = `HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`;
    } catch (err) {
      last = err.message;
    }
    await sleep(250);
  }
  throw new Error(`GET ${urlPath} on port ${port} did not answer ${status} within ${timeoutMs} ms (last: ${last})`);
}

/** Wait for a child started with an IPC channel to send {ready: true, port}. */
function waitForReadyMessage(handle, timeoutMs = 30000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${handle.name} did not report ready within ${timeoutMs} ms`)), timeoutMs);
    handle.child.on('message', (msg) => {
      if (msg && msg.ready) {
        clearTimeout(timer);
        resolve(msg);
      }
    });
    handle.exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${handle.name} exited (code ${code}, signal ${signal}) before it was ready; see ${handle.logFile}`));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------------
const PG = { host: HOST, port: envInt('BENCH_PG_PORT', 5432), user: 'postgres', password: '' };

async function withClient(database, fn) {
  const client = new Client({ ...PG, database });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

function quoteIdent(name) {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unsafe database name "${name}"`);
  return `"${name}"`;
}

async function dropDatabase(name) {
  await withClient('postgres', (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
}

async function recreateDatabase(name) {
  await dropDatabase(name);
  await withClient('postgres', (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
}

/**
 * Apply the TypeORM migrations in /migrations ourselves (TypeScript transpiled in memory), for
 * runs where the app is not there to migrate the database (baselines only).
 */
async function applyMigrationsDirectly(database) {
  const ts = require('typescript');
  const Module = require('node:module');
  const dir = path.join(ROOT, 'migrations');
  // Only the timestamped migration files (<timestamp>-<Name>.ts), oldest first.
  const files = fs
    .readdirSync(dir)
    .filter((f) => /^\d+-.+\.ts$/.test(f) && !f.endsWith('.d.ts'))
    .sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
  await withClient(database, async (client) => {
    const queryRunner = { query: (sql, params) => client.query(sql, params).then((r) => r.rows) };
    for (const file of files) {
      const filename = path.join(dir, file);
      const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
        fileName: filename,
      });
      const mod = new Module(filename);
      mod.filename = filename;
      mod.paths = Module._nodeModulePaths(dir);
      mod._compile(outputText, filename);
      for (const Migration of Object.values(mod.exports)) {
        if (typeof Migration === 'function' && typeof Migration.prototype.up === 'function') {
          await new Migration().up(queryRunner);
        }
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Process memory: peak VmRSS of a pid, sampled every 200 ms.
// ---------------------------------------------------------------------------------------------
function readRssKb(pid) {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

function rssSampler(pid, intervalMs = 200) {
  let overall = 0;
  let window = 0;
  const sample = () => {
    const kb = readRssKb(pid);
    overall = Math.max(overall, kb);
    window = Math.max(window, kb);
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return {
    /** Peak since the previous call (MB), then start a new window. */
    takeWindowMb() {
      sample();
      const mb = window / 1024;
      window = 0;
      return mb;
    },
    stop() {
      sample();
      clearInterval(timer);
      return overall / 1024;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// CPU time per request: on a shared machine req/s follow the other jobs' load, the CPU a request costs
// much less. User + system time of a process from /proc/<pid>/stat (clock ticks, 10 ms), and of the
// PostgreSQL backends serving one database (their pids from pg_stat_activity; the pool's connections
// live through a run). Not counted: PostgreSQL's WAL writer and checkpointer, shared by all databases.
// ---------------------------------------------------------------------------------------------
const TICK_MS = 1000 / 100; // USER_HZ, 100 on Linux everywhere

function cpuTimeMs(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // after "pid (comm) "
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS; // utime, stime (fields 14 and 15)
  } catch {
    return 0;
  }
}

/** CPU used so far by `pid` and by the PostgreSQL backends of `database` (not counting the one asking). */
async function cpuSnapshot(pid, database) {
  const backends = await withClient(database, (c) =>
    c.query('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()'),
  );
  return { app: cpuTimeMs(pid), pg: Object.fromEntries(backends.rows.map((r) => [r.pid, cpuTimeMs(r.pid)])) };
}

/** Microseconds of CPU per request between two snapshots (pg: backends present in both). */
function cpuPerRequest(before, after, requests) {
  if (!requests) return undefined;
  const pgMs = Object.entries(after.pg).reduce((sum, [pid, ms]) => sum + (pid in before.pg ? ms - before.pg[pid] : 0), 0);
  return { appUs: ((after.app - before.app) * 1000) / requests, pgUs: (pgMs * 1000) / requests };
}

// ---------------------------------------------------------------------------------------------
// Load generation (autocannon runs in this process; every server runs in its own child).
// ---------------------------------------------------------------------------------------------
let currentLoad = null;

/**
 * Run autocannon and summarise. `expectStatus` is the status that counts as a good answer
 * (200/201, or 401 for the bad-token scenario); everything else is reported as unexpected.
 */
async function runLoad({ port, path: urlPath = '/', method = 'GET', headers, body, requests, connections, duration, expectStatus }) {
  const opts = {
    url: `http://${HOST}:${port}${urlPath}`,
    connections,
    duration,
    pipelining: 1,
    timeout: 10,
    method,
    headers,
    body,
    requests,
  };
  if (aborting) throw new Error('aborting: no new load run');
  currentLoad = autocannon(opts);
  const result = await currentLoad;
  currentLoad = null;
  const statuses = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count]));
  const good = statuses[expectStatus] || 0;
  const answered = Object.values(statuses).reduce((a, b) => a + b, 0);
  return {
    connections,
    durationS: result.duration,
    requests: answered,
    rps: good / result.duration,
    expectStatus,
    unexpected: answered - good,
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    latencyMs: {
      mean: result.latency.average,
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
  };
}

function stopCurrentLoad() {
  if (currentLoad) currentLoad.stop();
}

// ---------------------------------------------------------------------------------------------
// HS256 JWTs with node:crypto (used for the bad token and, when the app is absent, the baseline).
// ---------------------------------------------------------------------------------------------
const b64url = (buf) => Buffer.from(buf).toString('base64url');

/** A JWT for the baselines (which check neither `kid` nor issuer): HS256 with `key` a secret, EdDSA or ES256 with a private KeyObject. */
function signJwt(payload, alg, key) {
  const input = `${b64url(JSON.stringify({ alg, typ: 'JWT' }))}.${b64url(JSON.stringify(payload))}`;
  const signature =
    alg === 'HS256'
      ? crypto.createHmac('sha256', key).update(input).digest()
      : crypto.sign(alg === 'ES256' ? 'sha256' : null, Buffer.from(input), alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key);
  return `${input}.${signature.toString('base64url')}`;
}

/** Same header and claims, one byte of the signature changed: well-formed, of the right length, but invalid. */
function withWrongSignature(token) {
  const [head, body, signature] = token.split('.');
  const sig = Buffer.from(signature, 'base64url');
  sig[0] ^= 0x01;
  return `${head}.${body}.${sig.toString('base64url')}`;
}

function decodeJwtPayload(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

// ---------------------------------------------------------------------------------------------
// Printing
// ---------------------------------------------------------------------------------------------
function fmt(value, digits = 0) {
  if (value === undefined || value === null || Number.isNaN(value)) return '-';
  return Number(value).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Plain-text table: text columns (first, last, and those named in `left`) left-aligned, numbers right-aligned. */
function printTable(headers, rows, left = []) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const isLeft = (i) => i === 0 || i === headers.length - 1 || left.includes(headers[i]);
  const line = (cells) => cells.map((c, i) => (isLeft(i) ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ').trimEnd();
  console.log(line(headers));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

module.exports = {
  productionRuntimeEnv,
  ROOT,
  HOST,
  sleep,
  envInt,
  freePort,
  spawnChild,
  isAborting,
  isRunning,
  stopChild,
  stopAllChildren,
  runCommand,
  installCleanup,
  request,
  waitForHttp,
  waitForReadyMessage,
  PG,
  withClient,
  dropDatabase,
  recreateDatabase,
  applyMigrationsDirectly,
  rssSampler,
  cpuTimeMs,
  cpuSnapshot,
  cpuPerRequest,
  runLoad,
  stopCurrentLoad,
  signJwt,
  withWrongSignature,
  decodeJwtPayload,
  fmt,
  printTable,
};
