'use strict';
/**
 * Users service benchmark: `node bench/run.js` (npm run bench). It reports, it never asserts.
 *
 *  1. argon2id hash time (the service's parameters) and the CPU ceiling cpus / hash time.
 *  2. The built app (dist/src/main.js; `npm run build` is run first when it is missing or older than
 *     src/ or migrations/) on a fresh database, seeded with BENCH_USERS users: login, register,
 *     refresh (chained, single-use tokens), list with a name filter (one connection for the latency,
 *     then several for the throughput), bad token, profile, and profile again beside a login flood
 *     (BENCH_FLOOD_CONNECTIONS connections logging in at once: what the hashing queue leaves to reads),
 *     and beside a flood as big of bad tokens (the cost of any flood on these cores, for comparison).
 *     Rate limits are off (USERS_RATE_LIMIT_ENABLED=false): the bench measures the work, not the limits. The app runs with the Dockerfile's
 *     memory settings and publishes its events to NATS (bench/events.js: the delay from a change to
 *     JetStream's ack during register, and the relay's drain rate). Peak RSS of the app is sampled
 *     every 200 ms while under load.
 *     Then, for each further access-token algorithm (BENCH_JWT_ALGORITHMS), the app again with a
 *     signing key of that kind: bad token and profile only.
 *     With the list cases (and with BENCH_LIST_ONLY), the peer (bench/peer-cases.js): better-auth as it
 *     ships, its admin plugin on PostgreSQL, in a child process (bench/peer-better-auth.js) with schema
 *     better_auth of the bench database filled with the seeded users; for each search both can do (same
 *     matches), ours and its admin list-users under the list cases' load, and the ratio (goal >= 5).
 *  3. Baselines, each in its own child process: bare node:http hello world, and for each algorithm a
 *     no-framework profile (signature verified with node:crypto + one primary-key SELECT through pg + JSON).
 *  4. A table of every figure, the ratios against the targets (OK / BELOW), and
 *     bench/results/latest.json. Logs of the children go to bench/results/*.log.
 *     Beside req/s, each scenario (not those beside a flood) and baseline reports the CPU time per answered
 *     request of the server process and of the PostgreSQL backends of the bench's database
 *     (lib.cpuSnapshot): on a shared machine the figure to compare builds by, req/s follow the load.
 *
 * Exit code: 0 when every figure was measured (whatever the figures are); 1 when something could
 * not be measured (app does not build or start, an endpoint does not answer as specified, ...).
 *
 * Environment:
 *   BENCH_DURATION=10        seconds per measured scenario (after BENCH_WARMUP seconds of warm-up)
 *   BENCH_WARMUP=2           seconds of unmeasured load before each scenario (0 = none)
 *   BENCH_CONNECTIONS=32     connections for the cheap scenarios; login/register use
 *                            min(C, 4 x cpus) (argon2-bound), list uses min(C, 2 x cpus) (latency)
 *   BENCH_LIST_CONNECTIONS   override the list scenario's connections
 *   BENCH_ONLY=profile,profileUnderFlood  run only these app scenarios (keys: login, register, refresh,
 *                            listLatency, list, badToken, profile, profileUnderFlood,
 *                            profileBesideRefusals)
 *   BENCH_FLOOD_CONNECTIONS=160  connections of the login flood beside profile reads
 *   BENCH_ARGON2_CONCURRENCY the app's USERS_ARGON2_CONCURRENCY (default: the app's, cpus - 1)
 *   BENCH_USERS=100000       seeded users
 *   BENCH_DB=users_bench     database (dropped and recreated at start, dropped at the end)
 *   BENCH_KEEP_DB=1          leave the seeded database in place at the end (to look at plans with psql;
 *                            drop it yourself)
 *   BENCH_REUSE_DB=1         reuse BENCH_DB (and keep it) when it holds exactly BENCH_USERS seeded users
 *                            (a kept database of an earlier run): no drop, no seed (the app applies any new
 *                            migration at boot; the bench admin gets this run's password). Scenarios that
 *                            write (register, refresh) then run on a table they grew before.
 *   BENCH_LIST_NAME=ann      substring for the list scenario's name filter
 *   BENCH_LIST_ONLY=1        only the list scenarios, the list cases (bench/list-cases.js) and the peers,
 *                            one algorithm, no baselines
 *   BENCH_LIST_DURATION=3    seconds per list case and connection count (and per peer case)
 *   BENCH_LIST_CASES=regex   only the list cases (and peer cases) whose names match (case-insensitive), e.g. 'anna|offset'
 *   BENCH_PEERS=better-auth  peers run beside the list cases; empty: none
 *   BENCH_APP_ENTRY          app entry file instead of dist/src/main.js (no build step then)
 *   BENCH_APP_NODE_ARGS      node options for the app, after the Dockerfile's NODE_OPTIONS (they win), e.g.
 *                            "--cpu-prof --cpu-prof-dir=bench/results/prof" (written when the app stops) or
 *                            "--max-semi-space-size=8"
 *   BENCH_BASELINES_ONLY=1   skip the app: argon2 + baselines only (migrations applied directly)
 *   BENCH_BASELINES=0        skip the baselines (the app's scenarios only)
 *   BENCH_PG_PORT=5432       PostgreSQL port on 127.0.0.1 (user postgres, no password)
 *   BENCH_NATS_URL=nats://127.0.0.1:4222  NATS (JetStream) the app publishes its events to, into a
 *                            stream of the bench's own; empty: no NATS, no event figures
 *   BENCH_DRAIN_EVENTS=20000 events committed at once for the relay's drain rate
 *   BENCH_JWT_ALGORITHMS=HS256,EdDSA,ES256  access-token algorithms: the first runs every scenario,
 *                            the others profile and bad token (HS256: USERS_SECRET_KEY; EdDSA/ES256: a
 *                            key made for the run, USERS_JWT_PRIVATE_KEY_FILE)
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const argon2 = require('argon2');
const lib = require('./lib');
const { seedUsers } = require('./seed');
const { runListCases, printListCases } = require('./list-cases');
const peerCases = require('./peer-cases');
const benchEvents = require('./events');

const { ROOT, fmt } = lib;
const RESULTS_DIR = path.join(__dirname, 'results');
const CPUS = os.cpus().length;

const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 };
const PASSWORD = 'Bench-Passw0rd!';

function readConfig() {
  const connections = lib.envInt('BENCH_CONNECTIONS', 32);
  const warmup = process.env.BENCH_WARMUP === '0' ? 0 : lib.envInt('BENCH_WARMUP', 2);
  return {
    duration: lib.envInt('BENCH_DURATION', 10),
    warmup,
    connections,
    argonConnections: Math.min(connections, 4 * CPUS),
    floodConnections: lib.envInt('BENCH_FLOOD_CONNECTIONS', 160),
    only: process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(',').map((key) => key.trim()) : undefined,
    argon2Concurrency: lib.envInt('BENCH_ARGON2_CONCURRENCY', Math.max(1, CPUS - 1)),
    listConnections: lib.envInt('BENCH_LIST_CONNECTIONS', Math.min(connections, 2 * CPUS)),
    users: lib.envInt('BENCH_USERS', 100000),
    db: process.env.BENCH_DB || 'users_bench',
    keepDb: process.env.BENCH_KEEP_DB === '1' || process.env.BENCH_REUSE_DB === '1',
    reuseDb: process.env.BENCH_REUSE_DB === '1',
    listName: process.env.BENCH_LIST_NAME || 'ann',
    listOnly: process.env.BENCH_LIST_ONLY === '1',
    listDuration: lib.envInt('BENCH_LIST_DURATION', 3),
    listCases: process.env.BENCH_LIST_CASES ? new RegExp(process.env.BENCH_LIST_CASES, 'i') : undefined,
    peers: benchPeers(process.env.BENCH_PEERS ?? 'better-auth'),
    appEntry: process.env.BENCH_APP_ENTRY ? path.resolve(process.env.BENCH_APP_ENTRY) : path.join(ROOT, 'dist/src/main.js'),
    buildIfNeeded: !process.env.BENCH_APP_ENTRY,
    appNodeArgs: (process.env.BENCH_APP_NODE_ARGS || '').split(/\s+/).filter(Boolean),
    baselinesOnly: process.env.BENCH_BASELINES_ONLY === '1',
    baselines: process.env.BENCH_BASELINES !== '0',
    natsUrl: process.env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222',
    drainEvents: lib.envInt('BENCH_DRAIN_EVENTS', 20000),
    algorithms: jwtAlgorithms(process.env.BENCH_JWT_ALGORITHMS || 'HS256,EdDSA,ES256'),
  };
}

function benchPeers(list) {
  const peers = list.split(',').map((peer) => peer.trim()).filter(Boolean);
  for (const peer of peers) if (peer !== 'better-auth') throw new Error(`BENCH_PEERS: ${peer} is not better-auth`);
  return peers;
}

const KEY_TYPES = { EdDSA: ['ed25519', {}], ES256: ['ec', { namedCurve: 'P-256' }] };

function jwtAlgorithms(list) {
  const algorithms = list.split(',').map((alg) => alg.trim()).filter(Boolean);
  for (const alg of algorithms) if (alg !== 'HS256' && !KEY_TYPES[alg]) throw new Error(`BENCH_JWT_ALGORITHMS: ${alg} is not HS256, EdDSA or ES256`);
  return algorithms;
}

/**
 * How the app signs and the baseline verifies with `alg`: HS256 with the run's secret; EdDSA and ES256
 * with a key pair made for the run (PEM files in bench/results/: the app reads the private one, the
 * baseline the public one).
 */
function signingSetup(alg, secretKey) {
  if (alg === 'HS256') return { alg, appEnv: {}, baselineEnv: { JWT_ALGORITHM: alg, SECRET_KEY: secretKey } };
  const [type, options] = KEY_TYPES[alg];
  const pair = crypto.generateKeyPairSync(type, options);
  const privateFile = path.join(RESULTS_DIR, `jwt-${alg}.key.pem`);
  const publicFile = path.join(RESULTS_DIR, `jwt-${alg}.pub.pem`);
  fs.writeFileSync(privateFile, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  fs.writeFileSync(publicFile, pair.publicKey.export({ type: 'spki', format: 'pem' }));
  return { alg, privateKey: pair.privateKey, appEnv: { USERS_JWT_PRIVATE_KEY_FILE: privateFile }, baselineEnv: { JWT_ALGORITHM: alg, PUBLIC_KEY_FILE: publicFile } };
}

const log = (msg) => process.stderr.write(`» ${msg}\n`);

function logFile(name) {
  const file = path.join(RESULTS_DIR, `${name}.log`);
  fs.writeFileSync(file, '');
  return file;
}

/** Keep the head and tail of a big log (the app logs every request at info level). Once per file. */
const trimmed = new Set();
function trimLog(file, keepBytes = 2 * 1024 * 1024) {
  if (trimmed.has(file)) return;
  trimmed.add(file);
  try {
    const size = fs.statSync(file).size;
    if (size <= 2 * keepBytes) return;
    const fd = fs.openSync(file, 'r');
    const head = Buffer.alloc(keepBytes);
    const tail = Buffer.alloc(keepBytes);
    fs.readSync(fd, head, 0, keepBytes, 0);
    fs.readSync(fd, tail, 0, keepBytes, size - keepBytes);
    fs.closeSync(fd);
    const note = Buffer.from(`\n... [bench: ${fmt(size - 2 * keepBytes)} bytes of log trimmed] ...\n`);
    fs.writeFileSync(file, Buffer.concat([head, note, tail]));
  } catch {
    /* best effort */
  }
}

// -------------------------------------------------------------------------------------------------
// 1. argon2
// -------------------------------------------------------------------------------------------------
async function measureArgon2(samples = 20) {
  await argon2.hash('warm-up', ARGON2_OPTIONS);
  const times = [];
  let hash;
  for (let i = 0; i < samples; i++) {
    const start = process.hrtime.bigint();
    hash = await argon2.hash(PASSWORD, ARGON2_OPTIONS);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  if (!(await argon2.verify(hash, PASSWORD))) throw new Error('argon2 verify of the seed hash failed');
  const meanMs = times.reduce((a, b) => a + b, 0) / times.length;
  return {
    samples,
    meanMs,
    minMs: Math.min(...times),
    maxMs: Math.max(...times),
    cpus: CPUS,
    ceilingPerS: CPUS / (meanMs / 1000),
    hash,
  };
}

// -------------------------------------------------------------------------------------------------
// 2. The app
// -------------------------------------------------------------------------------------------------
function newestMtime(dir) {
  let newest = 0;
  if (!fs.existsSync(dir)) return newest;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

async function ensureBuilt(cfg) {
  const entry = cfg.appEntry;
  if (!cfg.buildIfNeeded) {
    if (!fs.existsSync(entry)) throw new Error(`BENCH_APP_ENTRY ${entry} does not exist`);
    return 'given by BENCH_APP_ENTRY';
  }
  let reason = null;
  if (!fs.existsSync(entry)) reason = `${path.relative(ROOT, entry)} is missing`;
  else if (Math.max(newestMtime(path.join(ROOT, 'src')), newestMtime(path.join(ROOT, 'migrations'))) > fs.statSync(entry).mtimeMs) {
    reason = `${path.relative(ROOT, entry)} is older than src/ or migrations/`;
  }
  if (!reason) return 'existing build';
  log(`${reason}: running npm run build (output in bench/results/build.log)`);
  const npm = process.env.npm_execpath ? [process.execPath, [process.env.npm_execpath]] : ['npm', []];
  const code = await lib.runCommand('npm run build', npm[0], [...npm[1], 'run', 'build'], { logFile: logFile('build') });
  if (code !== 0) throw new Error(`npm run build failed (exit code ${code}); see bench/results/build.log`);
  if (!fs.existsSync(entry)) throw new Error(`npm run build succeeded but ${path.relative(ROOT, entry)} is still missing`);
  return `rebuilt (${reason})`;
}

/**
 * BENCH_REUSE_DB: the kept database of an earlier run, if it holds exactly BENCH_USERS seeded users (they
 * share one password hash; the oldest user is a seeded one, as bench/seed.js dates user i at i minutes
 * ago). The bench admin, created by that run's app, gets this run's password. null: nothing to reuse.
 */
async function reusableDatabase(cfg, secrets) {
  const { rows: databases } = await lib.withClient('postgres', (c) => c.query('SELECT 1 FROM pg_database WHERE datname = $1', [cfg.db]));
  if (databases.length === 0) return null;
  return lib.withClient(cfg.db, async (client) => {
    if (!(await client.query(`SELECT to_regclass('users') AS t`)).rows[0].t) return null;
    const { rows: [oldest] } = await client.query('SELECT password_hash FROM users ORDER BY created_at LIMIT 1');
    if (!oldest) return null;
    const { rows: [{ n }] } = await client.query('SELECT count(*)::int AS n FROM users WHERE password_hash = $1', [oldest.password_hash]);
    if (n !== cfg.users) return null;
    const adminHash = await argon2.hash(secrets.adminPassword, ARGON2_OPTIONS);
    const admin = await client.query('UPDATE users SET password_hash = $1 WHERE email = $2', [adminHash, secrets.adminEmail]);
    return admin.rowCount === 1 ? { users: n, passwordHash: oldest.password_hash } : null;
  });
}

async function startApp(cfg, secrets, events, signing, logName = 'app') {
  const port = await lib.freePort();
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('USERS_')));
  Object.assign(env, {
    USERS_DB_DRIVER: 'postgres',
    USERS_DB_HOST: lib.HOST,
    USERS_DB_PORT: String(lib.PG.port),
    USERS_DB_USER: 'postgres',
    USERS_DB_PASS: '',
    USERS_DB_NAME: cfg.db,
    USERS_HTTP_HOST: lib.HOST,
    USERS_HTTP_PORT: String(port),
    USERS_SECRET_KEY: secrets.key,
    ...signing.appEnv,
    USERS_ADMIN_EMAIL: secrets.adminEmail,
    USERS_ADMIN_PASSWORD: secrets.adminPassword,
    USERS_ALLOW_UNVERIFIED_USER: 'true',
    USERS_ALLOW_SELF_REGISTER: 'true',
    USERS_LOG_LEVEL: 'info',
    // Every login from 127.0.0.1: the per-IP limits would measure themselves.
    USERS_RATE_LIMIT_ENABLED: 'false',
    USERS_ARGON2_CONCURRENCY: String(cfg.argon2Concurrency),
    ...benchEvents.appEnv(events),
    // Verification mails of the registrations go to the log, as in development.
    EMAIL_HOST: '',
    // The runtime settings of the Dockerfile, so that memory is measured as production runs.
    ...lib.productionRuntimeEnv(),
  });
  const app = lib.spawnChild(logName, process.execPath, [...cfg.appNodeArgs, cfg.appEntry], { env, logFile: logFile(logName) });
  app.port = port;
  const started = Date.now();
  await lib.waitForHttp(port, '/health/ready', { timeoutMs: 120000, child: app });
  app.bootMs = Date.now() - started;
  return app;
}

/** POST /users/tokens/issue; throws with the answer when it is not 201 with tokens. */
async function login(port, identity, secret) {
  const res = await lib.request(port, 'POST', '/users/tokens/issue', { body: { identity, secret } });
  if (res.status !== 201 || !res.body || !res.body.access_token || !res.body.refresh_token) {
    throw new Error(`login as ${identity} answered ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
  }
  return res.body;
}

/** Log in `count` different users, a few at a time (each login is an argon2 verify). */
async function loginMany(port, identities, count) {
  const sessions = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const id = identities[next++ % identities.length];
      sessions.push(await login(port, id.username, PASSWORD));
    }
  };
  await Promise.all(Array.from({ length: Math.min(count, 2 * CPUS) }, worker));
  return sessions;
}

/**
 * autocannon `requests` for chained refreshes: every connection starts from its own session and
 * sends, each time, the refresh token of its previous answer.
 *
 * autocannon resets `context` after every pass over a one-entry `requests` list, so the token is
 * handed over through `handoff` instead: with pipelining 1, a connection's onResponse and the
 * setupRequest of that connection's next request run in the same synchronous call (autocannon's
 * message-complete handler), so nothing can run in between. A connection without a token (first
 * request, or its chain broke on a non-2xx answer or a timeout) takes an unused session; when they
 * run out it sends an invalid token, and those answers show up as unexpected statuses.
 */
function chainedRefresh(sessions) {
  const unused = sessions.map((s) => s.refresh_token);
  const stats = { sessionsTaken: 0, chainBreaks: 0, ranOut: 0 };
  let handoff = null;
  const requests = [
    {
      method: 'POST',
      path: '/users/tokens/refresh',
      headers: { 'content-type': 'application/json' },
      setupRequest(req) {
        let token = handoff;
        handoff = null;
        if (!token) {
          token = unused.pop();
          if (token) stats.sessionsTaken++;
          else {
            stats.ranOut++;
            token = 'spent-session';
          }
        }
        req.body = JSON.stringify({ refresh_token: token });
        return req;
      },
      onResponse(status, body) {
        handoff = null;
        if (status >= 200 && status < 300) {
          try {
            handoff = JSON.parse(body).refresh_token || null;
          } catch {
            /* handled below */
          }
        }
        if (!handoff) stats.chainBreaks++;
      },
    },
  ];
  return { requests, stats };
}

/**
 * The app scenarios. Each has a pre-flight (one request whose answer is checked against the
 * contract) and a load definition; a failing scenario is recorded and the others still run.
 */
async function runAppScenarios(cfg, app, identities, secrets, results, events, { scenarios = results.app.scenarios, only } = {}) {
  const port = app.port;
  const rss = lib.rssSampler(app.pid);
  const runTag = crypto.randomBytes(3).toString('hex');
  const json = { 'content-type': 'application/json' };

  let shared = {};
  const setup = async () => {
    const admin = await login(port, secrets.adminEmail, secrets.adminPassword);
    const user = await login(port, identities[0].email, PASSWORD);
    shared = { adminToken: admin.access_token, userToken: user.access_token, userLogin: user };
  };

  let loginSeq = 0;
  let registerSeq = 0;
  const loginRequests = () => [
    {
      method: 'POST',
      path: '/users/tokens/issue',
      headers: json,
      setupRequest(req) {
        const id = identities[loginSeq++ % identities.length];
        req.body = JSON.stringify({ identity: loginSeq % 2 ? id.email : id.username, secret: PASSWORD });
        return req;
      },
    },
  ];
  const profileScenario = {
    connections: cfg.connections,
    expectStatus: 200,
    preflight: async () => {
      // A fresh login, so that the same token still has time left for the profile baseline.
      shared.userToken = (await login(port, identities[0].email, PASSWORD)).access_token;
      const res = await lib.request(port, 'GET', '/users/profile', { headers: { authorization: `Bearer ${shared.userToken}` } });
      if (res.status !== 200 || res.body?.email !== identities[0].email) throw new Error(`profile answered ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    },
    load: () => ({ path: '/users/profile', headers: { authorization: `Bearer ${shared.userToken}` } }),
  };
  const list = `/users?name=${encodeURIComponent(cfg.listName)}&limit=10`;

  const definitions = [
    {
      name: 'login',
      connections: cfg.argonConnections,
      expectStatus: 201,
      preflight: async () => {
        const body = await login(port, identities[1].username, PASSWORD);
        for (const k of ['access_token', 'refresh_token', 'access_type', 'expires_in']) if (!(k in body)) throw new Error(`login answer lacks ${k}`);
      },
      load: () => ({ requests: loginRequests() }),
    },
    {
      name: 'register',
      connections: cfg.argonConnections,
      expectStatus: 201,
      preflight: async () => {
        const n = registerSeq++;
        const res = await lib.request(port, 'POST', '/users', {
          body: { first_name: 'Bench', last_name: 'Register', email: `reg.${runTag}.${n}@register.test`, credentials: { username: `reg_${runTag}_${n}`, secret: PASSWORD } },
        });
        if (res.status !== 201) throw new Error(`POST /users answered ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
      },
      load: () => ({
        requests: [
          {
            method: 'POST',
            path: '/users',
            headers: json,
            setupRequest(req) {
              const n = registerSeq++;
              req.body = JSON.stringify({
                first_name: 'Bench',
                last_name: 'Register',
                email: `reg.${runTag}.${n}@register.test`,
                credentials: { username: `reg_${runTag}_${n}`, secret: PASSWORD },
              });
              return req;
            },
          },
        ],
      }),
    },
    {
      name: 'refresh',
      connections: cfg.connections,
      expectStatus: 201,
      preflight: async () => {
        const [session] = await loginMany(port, identities.slice(2), 1);
        const first = await lib.request(port, 'POST', '/users/tokens/refresh', { body: { refresh_token: session.refresh_token } });
        if (first.status !== 201 || !first.body?.refresh_token) throw new Error(`refresh answered ${first.status} ${JSON.stringify(first.body).slice(0, 300)}`);
        const second = await lib.request(port, 'POST', '/users/tokens/refresh', { body: { refresh_token: first.body.refresh_token } });
        if (second.status !== 201) throw new Error(`chained refresh answered ${second.status} ${JSON.stringify(second.body).slice(0, 300)}`);
        // One session per connection for the warm-up, and a fresh set (plus spares) for the measured run.
        const spares = Math.ceil(cfg.connections / 4);
        const sessions = await loginMany(port, identities.slice(3), (cfg.warmup ? cfg.connections : 0) + cfg.connections + spares);
        return { warmup: sessions.slice(0, cfg.warmup ? cfg.connections : 0), measured: sessions.slice(cfg.warmup ? cfg.connections : 0) };
      },
      load: (phase, prepared) => {
        const chain = chainedRefresh(prepared[phase]);
        return { requests: chain.requests, stats: chain.stats };
      },
    },
    // Latency (the p99 target) with one request at a time, then throughput with several in flight.
    ...[
      { key: 'listLatency', connections: 1 },
      { key: 'list', connections: cfg.listConnections },
    ].map(({ key, connections }) => ({
      name: `list ?name=${cfg.listName}`,
      key,
      connections,
      expectStatus: 200,
      preflight: async () => {
        const res = await lib.request(port, 'GET', list, { headers: { authorization: `Bearer ${shared.adminToken}` } });
        if (res.status !== 200 || !Array.isArray(res.body?.users)) throw new Error(`GET ${list} answered ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
        if (!(res.body.total > 0) || res.body.users.length > 10) throw new Error(`GET ${list}: total ${res.body.total}, ${res.body.users.length} users on the page`);
        return { total: res.body.total };
      },
      load: () => ({ path: list, headers: { authorization: `Bearer ${shared.adminToken}` } }),
    })),
    {
      name: 'bad token',
      key: 'badToken',
      connections: cfg.connections,
      expectStatus: 401,
      preflight: async () => {
        shared.badToken = lib.withWrongSignature(shared.userToken);
        const res = await lib.request(port, 'GET', '/users/profile', { headers: { authorization: `Bearer ${shared.badToken}` } });
        if (res.status !== 401 || !res.body?.code) throw new Error(`bad token answered ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
      },
      load: () => ({ path: '/users/profile', headers: { authorization: `Bearer ${shared.badToken}` } }),
    },
    { name: 'profile', ...profileScenario },
    // The same reads while a login flood runs (201, or 503 SERVER_BUSY beyond the hashing queue)...
    {
      name: `profile beside a login flood`,
      key: 'profileUnderFlood',
      ...profileScenario,
      beside: () => ({ requests: loginRequests(), connections: cfg.floodConnections, expectStatus: 201 }),
    },
    // ...and beside a flood as big of the cheapest refusal (a bad token's 401): on 2 cores any flood takes
    // its share of the event loop and the CPU; what the login flood costs beyond that is the hashing's.
    {
      name: `profile beside a flood of bad tokens`,
      key: 'profileBesideRefusals',
      ...profileScenario,
      beside: () => ({ path: '/users/profile', headers: { authorization: `Bearer ${lib.withWrongSignature(shared.userToken)}` }, connections: cfg.floodConnections, expectStatus: 401 }),
    },
  ];

  try {
    await setup();
    // The app's CPU with no request (timers, the relay's and mail sender's polls): a login's CPU per
    // request includes a share of it, at a few logins per second a large one.
    const idleBefore = await lib.cpuSnapshot(app.pid, cfg.db);
    await lib.sleep(3000);
    const idle = lib.cpuPerRequest(idleBefore, await lib.cpuSnapshot(app.pid, cfg.db), 3);
    results.app.idleCpuMsPerS = { app: idle.appUs / 1000, pg: idle.pgUs / 1000 };
  } catch (err) {
    results.errors.push(`app setup (admin/user login): ${err.message}`);
    rss.stop();
    return shared;
  }

  for (const def of only ? definitions.filter((d) => only.includes(d.key || d.name)) : definitions) {
    const key = def.key || def.name;
    try {
      log(`app: ${def.name} (${def.connections} connections, ${cfg.warmup}s warm-up + ${cfg.duration}s)`);
      const prepared = await def.preflight();
      rss.takeWindowMb();
      if (cfg.warmup) {
        await lib.runLoad({ port, ...def.load('warmup', prepared), connections: def.connections, duration: cfg.warmup, expectStatus: def.expectStatus });
      }
      const load = def.load('measured', prepared);
      const from = new Date();
      const beside = def.beside && lib.runLoad({ port, ...def.beside(), duration: cfg.duration });
      const cpuBefore = !beside && (await lib.cpuSnapshot(app.pid, cfg.db));
      const figures = await lib.runLoad({ port, ...load, connections: def.connections, duration: cfg.duration, expectStatus: def.expectStatus });
      if (cpuBefore) figures.cpu = lib.cpuPerRequest(cpuBefore, await lib.cpuSnapshot(app.pid, cfg.db), figures.requests);
      if (beside) figures.beside = await beside;
      figures.window = { from, to: new Date() };
      figures.peakRssMb = rss.takeWindowMb();
      if (load.stats) figures.chain = load.stats;
      if (prepared && prepared.total !== undefined) figures.matchingRows = prepared.total;
      scenarios[key] = figures;
      if (!lib.isRunning(app)) throw new Error(`the app exited during the run (code ${app.exitCode}, signal ${app.signal}); see bench/results/app.log`);
    } catch (err) {
      scenarios[key] = { error: err.message };
      results.errors.push(`app ${def.name}: ${err.message}`);
      if (!lib.isRunning(app)) break;
    }
  }
  if (events && scenarios.register?.window) {
    try {
      log('events: delays of the register scenario, then a drain of ' + fmt(cfg.drainEvents) + ' events');
      results.events = { register: await benchEvents.delaysDuring(cfg.db, scenarios.register.window) };
      results.events.drain = await benchEvents.drain(cfg.db, cfg.drainEvents);
      results.events.streamMessages = await benchEvents.streamMessages(events);
    } catch (err) {
      results.errors.push(`events: ${err.message}`);
    }
  }
  const peakRssMb = rss.stop();
  if (!only) results.app.peakRssMb = peakRssMb;
  return shared;
}

// -------------------------------------------------------------------------------------------------
// 3. Baselines
// -------------------------------------------------------------------------------------------------
async function runBaseline(name, script, env, { path: urlPath, headers, expectStatus, check }, cfg) {
  const child = lib.spawnChild(name, process.execPath, [path.join(__dirname, script)], {
    env: { ...process.env, ...env, PORT: '0' },
    logFile: logFile(name),
    ipc: true,
  });
  try {
    const { port } = await lib.waitForReadyMessage(child);
    const res = await lib.request(port, 'GET', urlPath, { headers });
    if (res.status !== expectStatus) throw new Error(`${name} pre-flight answered ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    if (check) check(res);
    log(`baseline: ${name} (${cfg.connections} connections, ${cfg.warmup}s warm-up + ${cfg.duration}s)`);
    const rss = lib.rssSampler(child.pid);
    if (cfg.warmup) await lib.runLoad({ port, path: urlPath, headers, connections: cfg.connections, duration: cfg.warmup, expectStatus });
    rss.takeWindowMb();
    const cpuBefore = await lib.cpuSnapshot(child.pid, cfg.db);
    const figures = await lib.runLoad({ port, path: urlPath, headers, connections: cfg.connections, duration: cfg.duration, expectStatus });
    figures.cpu = lib.cpuPerRequest(cpuBefore, await lib.cpuSnapshot(child.pid, cfg.db), figures.requests);
    figures.peakRssMb = rss.stop();
    return figures;
  } finally {
    await lib.stopChild(child);
  }
}

// -------------------------------------------------------------------------------------------------
// 4. Report
// -------------------------------------------------------------------------------------------------
function computeTargets(results) {
  const a = results.app.scenarios;
  const b = results.baselines;
  const rps = (s) => (s && !s.error ? s.rps : undefined);
  const targets = [];
  const atLeast = (name, measured, reference, factor, unit, refUnit = unit) => {
    const ratio = measured !== undefined && reference ? measured / reference : undefined;
    targets.push({
      name,
      measured,
      reference,
      unit,
      refUnit,
      ratio,
      target: `>= ${factor.toFixed(2)}`,
      status: ratio === undefined ? 'N/A' : ratio >= factor ? 'OK' : 'BELOW',
    });
  };
  const atMost = (name, measured, limit, unit) => {
    const ratio = measured !== undefined ? measured / limit : undefined;
    targets.push({ name, measured, reference: limit, unit, refUnit: unit, ratio, target: '<= 1.00', status: ratio === undefined ? 'N/A' : ratio <= 1 ? 'OK' : 'BELOW' });
  };
  // The service hashes on USERS_ARGON2_CONCURRENCY cores (cpus - 1 by default): that is its ceiling.
  const ceiling = results.argon2 && (results.argon2.ceilingPerS * Math.min(results.config.argon2Concurrency, CPUS)) / CPUS;
  atLeast(`login / argon2 ceiling on ${results.config.argon2Concurrency} of ${CPUS} cpus`, rps(a.login), ceiling, 0.9, 'req/s', 'hashes/s');
  atLeast('profile beside login flood / beside bad-token flood', rps(a.profileUnderFlood), rps(a.profileBesideRefusals), 0.5, 'req/s');
  for (const [alg, { app, baseline }] of Object.entries(results.signing)) {
    atLeast(`profile / baseline profile, ${alg}`, rps(app.profile), rps(baseline), 0.5, 'req/s');
    atLeast(`bad token / hello world, ${alg}`, rps(app.badToken), rps(b.hello), 0.25, 'req/s');
  }
  atLeast('refresh / 1,500 per s', rps(a.refresh), 1500, 1, 'req/s');
  atMost('list p99 (1 conn) / 20 ms', a.listLatency && !a.listLatency.error ? a.listLatency.latencyMs.p99 : undefined, 20, 'ms');
  atMost('app peak RSS / 200 MB', results.app.peakRssMb || undefined, 200, 'MB');
  for (const r of results.peerCases || []) atLeast(`list ${r.name} / better-auth, 4 conn`, r.ours.four.rps, r.peer.four.rps, peerCases.GOAL, 'req/s');
  return targets;
}

function printReport(cfg, results) {
  const ar = results.argon2;
  console.log('\n=== Users service benchmark ===');
  console.log(`${results.machine.cpuModel} x ${CPUS} cpus, node ${process.version}, ${cfg.duration}s per scenario after ${cfg.warmup}s warm-up`);
  if (results.app.build) console.log(`app: ${results.app.build}${results.app.bootMs ? `, ready in ${fmt(results.app.bootMs)} ms` : ''}`);
  if (results.seed) console.log(`seed: ${fmt(results.seed.users)} users in ${fmt(results.seed.ms)} ms (${fmt(results.seed.nameMatches)} match name~"${cfg.listName}")`);
  if (ar) console.log(`argon2id m=19456 t=2 p=1: ${fmt(ar.meanMs, 2)} ms per hash (mean of ${ar.samples}, min ${fmt(ar.minMs, 2)}, max ${fmt(ar.maxMs, 2)}) -> ceiling ${fmt(ar.ceilingPerS, 1)} hashes/s on ${ar.cpus} cpus`);
  console.log('');

  const rows = [];
  const add = (label, s) => {
    if (!s) return;
    if (s.error) return rows.push([label, 'FAILED', '', '', '', '', '', '', '', '', s.error.slice(0, 80)]);
    const notes = [];
    if (s.errors || s.timeouts) notes.push(`${s.errors} errors, ${s.timeouts} timeouts`);
    if (s.unexpected) notes.push(`statuses ${JSON.stringify(s.statuses)}`);
    if (s.chain) notes.push(`chains: ${s.chain.sessionsTaken} sessions, ${s.chain.chainBreaks} breaks`);
    if (s.matchingRows !== undefined) notes.push(`total=${s.matchingRows}`);
    rows.push([
      label,
      fmt(s.rps),
      s.connections,
      fmt(s.latencyMs.mean, 2),
      fmt(s.latencyMs.p50),
      fmt(s.latencyMs.p99),
      fmt(s.unexpected),
      fmt(s.peakRssMb, 1),
      fmt(s.cpu?.appUs),
      fmt(s.cpu?.pgUs),
      notes.join('; '),
    ]);
  };
  const a = results.app.scenarios;
  for (const [key, label] of [['login', 'app login'], ['register', 'app register'], ['refresh', 'app refresh'], ['listLatency', `app list ?name=${cfg.listName}`], ['list', `app list ?name=${cfg.listName}`]]) {
    add(label, a[key]);
  }
  add('baseline hello world', results.baselines.hello);
  add(`app profile beside a login flood, ${cfg.algorithms[0]}`, a.profileUnderFlood);
  add(`app profile beside a bad-token flood, ${cfg.algorithms[0]}`, a.profileBesideRefusals);
  for (const [alg, { app, baseline }] of Object.entries(results.signing)) {
    add(`app profile, ${alg}`, app.profile);
    add(`baseline profile, ${alg} (no framework)`, baseline);
    add(`app bad token (401), ${alg}`, app.badToken);
  }
  lib.printTable(['scenario', 'req/s', 'conns', 'mean ms', 'p50 ms', 'p99 ms', 'non-expected', 'peak RSS MB', 'CPU µs/req', 'pg CPU µs/req', 'notes'], rows);
  if (results.app.peakRssMb) console.log(`\napp peak RSS under load: ${fmt(results.app.peakRssMb, 1)} MB`);
  const idle = results.app.idleCpuMsPerS;
  if (idle) console.log(`app CPU when idle: ${fmt(idle.app, 1)} ms/s, its PostgreSQL backends ${fmt(idle.pg, 1)} ms/s (part of every CPU µs/req figure: subtract it for the slow scenarios)`);
  const ev = results.events;
  if (ev?.register) {
    console.log(
      `events relay (JetStream, acknowledged): during register ${fmt(ev.register.events)} events (${fmt(ev.register.perSecond, 1)}/s), ` +
        `change -> ack p50 ${fmt(ev.register.p50Ms, 1)} ms, p99 ${fmt(ev.register.p99Ms, 1)} ms, max ${fmt(ev.register.maxMs, 1)} ms`,
    );
  }
  const flood = a.profileUnderFlood?.beside;
  if (flood) {
    const alone = results.signing[cfg.algorithms[0]]?.app.profile;
    console.log(
      `profile reads: ${fmt(alone?.rps)} req/s alone, ${fmt(a.profileUnderFlood.rps)} req/s beside a login flood of ${flood.connections} connections ` +
        `(USERS_ARGON2_CONCURRENCY=${cfg.argon2Concurrency}); the flood: ${fmt(flood.rps)} logins/s, statuses ${JSON.stringify(flood.statuses)}, ` +
        `p50 ${fmt(flood.latencyMs.p50)} ms, p99 ${fmt(flood.latencyMs.p99)} ms, ${flood.errors} errors, ${flood.timeouts} timeouts`,
    );
    const refusals = a.profileBesideRefusals;
    if (refusals?.beside) {
      console.log(
        `profile reads beside a flood as big of bad tokens: ${fmt(refusals.rps)} req/s (the flood: ${fmt(refusals.beside.rps)} refusals/s); ` +
          `what the login flood takes beyond any flood of ${flood.connections} connections is the hashing's share`,
      );
    }
  }
  if (ev?.drain) console.log(`events relay drain: ${fmt(ev.drain.events)} events committed at once, published in ${fmt(ev.drain.seconds, 2)} s = ${fmt(ev.drain.perSecond)} events/s (${fmt(ev.streamMessages)} messages in the stream)`);
  console.log('(req/s counts answers with the expected status: 201 login/register/refresh, 200 profile/list, 401 bad token; latency resolution 1 ms)');
  console.log("(CPU µs/req: user + system time of the server process per answered request; pg: of the PostgreSQL backends of the bench's database; not beside a flood)");

  console.log('\n=== Targets (OK = met, BELOW = not met; the bench never fails on them) ===');
  lib.printTable(
    ['check', 'measured', 'reference', 'ratio', 'target', 'status'],
    results.targets.map((t) => [
      t.name,
      `${fmt(t.measured, t.unit === 'req/s' ? 0 : 1)} ${t.unit}`,
      `${fmt(t.reference, t.reference < 1000 && t.unit === 'req/s' ? 1 : 0)} ${t.refUnit}`,
      fmt(t.ratio, 2),
      t.target,
      t.status,
    ]),
  );
  if (results.errors.length) {
    console.log('\nNot measured:');
    for (const e of results.errors) console.log(`  - ${e}`);
  }
  console.log(`\nfigures: bench/results/latest.json; logs: bench/results/*.log`);
}

// -------------------------------------------------------------------------------------------------
// main
// -------------------------------------------------------------------------------------------------
async function main() {
  const cfg = readConfig();
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const results = {
    startedAt: new Date().toISOString(),
    machine: { cpus: CPUS, cpuModel: os.cpus()[0]?.model, node: process.version, totalMemMb: Math.round(os.totalmem() / 2 ** 20) },
    config: { ...cfg, appEntry: path.relative(ROOT, cfg.appEntry) },
    argon2: null,
    seed: null,
    app: { scenarios: {} },
    baselines: {},
    /** Per access-token algorithm: the app's profile and bad-token figures, and the profile baseline's. */
    signing: Object.fromEntries(cfg.algorithms.map((alg) => [alg, { app: {}, baseline: null }])),
    targets: [],
    errors: [],
  };
  const secrets = {
    key: crypto.randomBytes(32).toString('hex'),
    adminEmail: 'bench-admin@example.test',
    adminPassword: `Adm1n-${crypto.randomBytes(8).toString('hex')}`,
  };
  const signings = Object.fromEntries(cfg.algorithms.map((alg) => [alg, signingSetup(alg, secrets.key)]));

  let app = null;
  const events = cfg.natsUrl ? benchEvents.benchStream(cfg.natsUrl) : null;
  const cleanup = lib.installCleanup(async () => {
    if (events) await benchEvents.deleteStream(events);
    lib.stopCurrentLoad();
    await lib.stopAllChildren();
    if (app) trimLog(app.logFile);
    if (!cfg.keepDb) await lib.dropDatabase(cfg.db).catch((err) => console.error(`could not drop database ${cfg.db}: ${err.message}`));
  });
  process.on('unhandledRejection', (err) => {
    console.error('unhandled rejection:', err);
    cleanup().finally(() => process.exit(1));
  });

  try {
    log(`argon2id timing (20 hashes)`);
    results.argon2 = await measureArgon2(20);
    const { hash: passwordHash, ...argonFigures } = results.argon2;
    results.argon2 = argonFigures;

    // A kept database of an earlier run with enough users: reused as it is (BENCH_REUSE_DB).
    const reused = cfg.reuseDb && !cfg.baselinesOnly ? await reusableDatabase(cfg, secrets) : null;
    if (reused) {
      log(`database ${cfg.db}: reused (${fmt(reused.users)} users; BENCH_REUSE_DB=1)`);
    } else {
      log(`database ${cfg.db}: drop and create`);
      await lib.recreateDatabase(cfg.db);
    }

    if (cfg.baselinesOnly) {
      results.app.build = 'skipped (BENCH_BASELINES_ONLY=1)';
    } else {
      try {
        results.app.build = await ensureBuilt(cfg);
        log(`app: starting ${path.relative(ROOT, cfg.appEntry)} (log in bench/results/app.log)`);
        app = await startApp(cfg, secrets, events, signings[cfg.algorithms[0]]);
        results.app.bootMs = app.bootMs;
      } catch (err) {
        results.errors.push(`app: ${err.message}`);
        if (app) await lib.stopChild(app);
        app = null;
        await lib.recreateDatabase(cfg.db); // a clean schema for the baselines
      }
    }

    if (!app) {
      log('applying migrations directly (no app)');
      await lib.applyMigrationsDirectly(cfg.db);
    }

    if (!reused) log(`seeding ${fmt(cfg.users)} users`);
    const seedStart = Date.now();
    const identities = await lib.withClient(cfg.db, async (client) => {
      if (!reused) await seedUsers(client, { count: cfg.users, passwordHash, log });
      const seedHash = reused ? reused.passwordHash : passwordHash;
      const matches = await client.query(
        `SELECT count(*)::int AS n FROM users WHERE password_hash = $1 AND (first_name ILIKE $2 OR last_name ILIKE $2)`,
        [seedHash, `%${cfg.listName}%`],
      );
      results.seed = { users: cfg.users, ms: Date.now() - seedStart, nameMatches: matches.rows[0].n, ...(reused ? { reused: true } : {}) };
      const sample = await client.query(`SELECT id, email, username FROM users WHERE password_hash = $1 ORDER BY random() LIMIT 5000`, [seedHash]);
      return sample.rows;
    });

    // The app with each algorithm's key: every scenario with the first, profile and bad token with the others.
    const userTokens = {};
    if (app) {
      const [first, ...others] = cfg.listOnly ? cfg.algorithms.slice(0, 1) : cfg.algorithms;
      const only = cfg.listOnly ? ['listLatency', 'list'] : cfg.only;
      const shared = await runAppScenarios(cfg, app, identities, secrets, results, events, { only });
      userTokens[first] = shared.userToken;
      // (BENCH_ONLY picks scenarios: the list cases run with all of them, or alone with BENCH_LIST_ONLY)
      if (cfg.listOnly || !cfg.only) {
        try {
          results.listCases = await runListCases({ port: app.port, adminToken: shared.adminToken, db: cfg.db, users: cfg.users, duration: cfg.listDuration, only: cfg.listCases, log });
        } catch (err) {
          results.errors.push(`list cases: ${err.message}`);
        }
        if (cfg.peers.includes('better-auth')) {
          try {
            log('better-auth: its admin list-users beside ours (log in bench/results/peer-better-auth.log)');
            const options = { port: app.port, adminToken: shared.adminToken, db: cfg.db, duration: cfg.listDuration, only: cfg.listCases, logFile: logFile('peer-better-auth'), log };
            results.peerCases = await peerCases.runPeerCases(options);
          } catch (err) {
            results.errors.push(`better-auth peer: ${err.message}`);
          }
        }
      }
      results.signing[first].app = { profile: results.app.scenarios.profile, badToken: results.app.scenarios.badToken };
      await lib.stopChild(app);
      trimLog(app.logFile);
      app = null;
      for (const alg of others) {
        try {
          log(`app: starting with an ${alg} signing key (log in bench/results/app-${alg}.log)`);
          app = await startApp(cfg, secrets, events, signings[alg], `app-${alg}`);
          const only = ['badToken', 'profile'];
          userTokens[alg] = (await runAppScenarios(cfg, app, identities, secrets, results, events, { scenarios: results.signing[alg].app, only })).userToken;
        } catch (err) {
          results.errors.push(`app ${alg}: ${err.message}`);
        } finally {
          if (app) {
            await lib.stopChild(app);
            trimLog(app.logFile);
          }
          app = null;
        }
      }
    }

    if (cfg.listOnly) throw Object.assign(new Error('list only'), { skipRest: true });
    if (!cfg.baselines) throw Object.assign(new Error('no baselines'), { skipRest: true });
    try {
      results.baselines.hello = await runBaseline('baseline-hello', 'baseline-hello.js', {}, { path: '/', expectStatus: 200 }, cfg);
    } catch (err) {
      results.baselines.hello = { error: err.message };
      results.errors.push(`baseline hello: ${err.message}`);
    }
    for (const alg of cfg.algorithms) {
      // The profile baseline verifies the very token the app scenario used (same key, same claims);
      // without the app, or if that token would expire during the run, an equivalent one is signed here.
      const now = Math.floor(Date.now() / 1000);
      let token = userTokens[alg];
      if (!token || !(lib.decodeJwtPayload(token).exp > now + cfg.warmup + cfg.duration + 60)) {
        results.signing[alg].tokenSource = token ? 'signed by the bench (the app token expires too soon)' : 'signed by the bench (no app)';
        const claims = { sub: identities[0].id, role: 'user', verified: true, type: 'access', iat: now, exp: now + 3600, jti: crypto.randomUUID(), iss: 'users', aud: 'users' };
        token = lib.signJwt(claims, alg, alg === 'HS256' ? secrets.key : signings[alg].privateKey);
      } else {
        results.signing[alg].tokenSource = 'the app profile scenario token';
      }
      try {
        const env = { ...signings[alg].baselineEnv, PGHOST: lib.HOST, PGPORT: String(lib.PG.port), PGUSER: 'postgres', PGPASSWORD: '', PGDATABASE: cfg.db };
        results.signing[alg].baseline = await runBaseline(
          `baseline-profile-${alg}`,
          'baseline-profile.js',
          env,
          {
            path: '/users/profile',
            headers: { authorization: `Bearer ${token}` },
            expectStatus: 200,
            check: (res) => {
              if (res.body?.email !== identities[0].email) throw new Error(`baseline profile returned ${JSON.stringify(res.body).slice(0, 200)}`);
            },
          },
          cfg,
        );
      } catch (err) {
        results.signing[alg].baseline = { error: err.message };
        results.errors.push(`baseline profile ${alg}: ${err.message}`);
      }
    }
  } catch (err) {
    if (!err.skipRest) {
      results.errors.push(`fatal: ${err.stack || err.message}`);
      results.fatal = true;
    }
  } finally {
    log('cleaning up (children, database)');
    await cleanup();
  }

  results.targets = computeTargets(results);
  results.finishedAt = new Date().toISOString();
  const complete = results.errors.length === 0;
  results.complete = complete;
  fs.writeFileSync(path.join(RESULTS_DIR, 'latest.json'), JSON.stringify(results, null, 2) + '\n');
  if (cfg.listOnly) printListCases(results.listCases || []);
  else printReport(cfg, results);
  if (results.peerCases) peerCases.printPeerCases(results.peerCases);
  if (!complete) console.log(`\nIncomplete run: ${results.errors.length} part(s) could not be measured (exit code 1).`);
  return complete ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
