'use strict';
/**
 * GET /users beside a peer on the same users: better-auth's admin `list-users` (bench/peer-better-auth.js,
 * in schema better_auth of the bench database), for every search the two can both do. Its `user` table gets
 * the users the bench seeded (id, "First Last" as name, email, created_at, updated_at, role, disabled as
 * banned), with better-auth's own indexes only (primary key, unique email), then VACUUM ANALYZE as the seed
 * does. An admin signs up through better-auth, gets role admin in SQL and signs in; its session cookie
 * authenticates the listing. Each pair runs ours, then the peer, with the list cases' load (bench/list-cases.js).
 *
 * better-auth's `contains` is a case-sensitive LIKE on its one name column, ours an ILIKE on first_name or
 * last_name: the values are chosen so that both match the same users (no seeded name begins with I, X or
 * O; Zelda, Anna and Hartmann appear only as whole first or last names). Its list has no order unless
 * `sortBy` is given: the pairs that compare the same page ask for ours (newest first).
 */
const crypto = require('node:crypto');
const path = require('node:path');
const lib = require('./lib');
const { firstAnswer, measurePath } = require('./list-cases');

const SCHEMA = 'better_auth';
const GOAL = 5; // ours / peer, req/s at 1 and at 4 connections

/** [name, our query string, better-auth's list-users query string] */
function pairs() {
  const search = (field, value) => `searchField=${field}&searchOperator=contains&searchValue=${encodeURIComponent(value)}`;
  const newest = 'sortBy=createdAt&sortDirection=desc';
  return [
    ['name selective (zelda)', 'name=zelda', search('name', 'Zelda')],
    ['name medium (x)', 'name=x', search('name', 'x')],
    ['name ~20 % (on)', 'name=on', search('name', 'on')],
    ['name broad (i)', 'name=i', search('name', 'i')],
    ['first_name anna / name Anna', 'first_name=anna', search('name', 'Anna')],
    ['last_name hartmann / name Hartmann', 'last_name=hartmann', search('name', 'Hartmann')],
    ['email selective (.123456@)', 'email=.123456@', search('email', '.123456@')],
    ['email medium (hartmann)', 'email=hartmann', search('email', 'hartmann')],
    ['email broad (example)', 'email=example', search('email', 'example')],
    ['no filter, first page (each its default order)', 'limit=10', ''],
    ['no filter, newest first', 'limit=10', newest],
    ['no filter, order email asc', 'order=email&dir=asc', 'sortBy=email&sortDirection=asc'],
    ['deep page by offset (100,000), newest first', 'offset=100000&limit=10', `offset=100000&${newest}`],
  ].map(([name, ours, peer]) => ({ name, ours: `/users?${ours}`, peer: `/api/auth/admin/list-users?limit=10${peer && `&${peer}`}` }));
}

/** Start the peer, fill its user table from ours (afresh in a reused database), and sign its admin in: {child, port, headers}. */
async function startPeer({ db, logFile, log }) {
  await lib.withClient(db, (client) => client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; CREATE SCHEMA ${SCHEMA}`));
  const port = await lib.freePort();
  const env = { ...process.env, PORT: String(port), PG_SCHEMA: SCHEMA, PGHOST: lib.HOST, PGPORT: String(lib.PG.port), PGUSER: 'postgres', PGPASSWORD: '', PGDATABASE: db, BETTER_AUTH_SECRET: crypto.randomBytes(32).toString('hex') };
  const child = lib.spawnChild('peer-better-auth', process.execPath, [path.join(__dirname, 'peer-better-auth.js')], { env, logFile, ipc: true });
  try {
    await lib.waitForReadyMessage(child, 60000);
    const started = Date.now();
    await lib.withClient(db, async (client) => {
      await client.query(`SET synchronous_commit = off`);
      await client.query(
        `INSERT INTO ${SCHEMA}."user" (id, name, email, "emailVerified", "createdAt", "updatedAt", role, banned)
         SELECT id::text, concat_ws(' ', first_name, last_name), email, verified_at IS NOT NULL, created_at, updated_at, role, status <> 'enabled' FROM public.users`,
      );
      await client.query(`VACUUM ANALYZE ${SCHEMA}."user"`);
    });
    log(`better-auth: its user table filled from ours in ${Date.now() - started} ms`);
    const admin = { email: 'peer-admin@example.test', password: `Adm1n-${crypto.randomBytes(8).toString('hex')}`, name: 'Peer Admin' };
    const signUp = await lib.request(port, 'POST', '/api/auth/sign-up/email', { body: admin });
    if (signUp.status !== 200) throw new Error(`better-auth sign-up answered ${signUp.status} ${JSON.stringify(signUp.body).slice(0, 200)}`);
    await lib.withClient(db, (client) => client.query(`UPDATE ${SCHEMA}."user" SET role = 'admin' WHERE email = $1`, [admin.email]));
    const signIn = await lib.request(port, 'POST', '/api/auth/sign-in/email', { body: { email: admin.email, password: admin.password } });
    const cookie = (signIn.headers['set-cookie'] || []).find((c) => c.startsWith('better-auth.session_token='));
    if (signIn.status !== 200 || !cookie) throw new Error(`better-auth sign-in answered ${signIn.status} without a session cookie`);
    return { child, port, headers: { cookie: cookie.split(';')[0] } };
  } catch (err) {
    await lib.stopChild(child);
    throw err;
  }
}

/** Each pair, or those whose names `only` matches (BENCH_LIST_CASES). */
async function runPeerCases({ port, adminToken, db, duration, only, logFile, log }) {
  const peer = await startPeer({ db, logFile, log });
  const ours = { port, headers: { authorization: `Bearer ${adminToken}` } };
  const results = [];
  try {
    for (const pair of pairs().filter((p) => !only || only.test(p.name))) {
      const [ourFirst, peerFirst] = [await firstAnswer(port, pair.ours, ours.headers), await firstAnswer(peer.port, pair.peer, peer.headers)];
      // better-auth answers any failure of its query with 200 and no users.
      if (!peerFirst.users?.length && ourFirst.users.length) throw new Error(`better-auth ${pair.peer} answered no users: see ${logFile}`);
      const our = { path: pair.ours, total: ourFirst.total, totalExact: ourFirst.total_exact, ...(await measurePath(port, pair.ours, ours.headers, duration)) };
      const their = { path: pair.peer, total: peerFirst.total, ...(await measurePath(peer.port, pair.peer, peer.headers, duration)) };
      const ratio = (key) => (their[key].rps ? our[key].rps / their[key].rps : Infinity);
      const result = { name: pair.name, ours: our, peer: their, ratio: { one: ratio('one'), four: ratio('four') } };
      result.met = Math.min(result.ratio.one, result.ratio.four) >= GOAL;
      results.push(result);
      log(`peer case ${pair.name}: ours ${our.one.rps} / ${our.four.rps} req/s, better-auth ${their.one.rps} / ${their.four.rps} req/s (1 / 4 conn)`);
    }
  } finally {
    await lib.stopChild(peer.child);
  }
  return results;
}

function printPeerCases(results) {
  const ratio = (r) => (Number.isFinite(r) ? `${lib.fmt(r, 1)}x` : 'inf');
  const rates = (m) => [m.one.rps, m.four.rps].map((rps) => lib.fmt(rps, rps < 10 ? 1 : 0)).join(' / ');
  console.log(`\nGET /users beside better-auth's admin list-users on the same users (goal: ours/peer >= ${GOAL} in req/s at 1 and at 4 connections):`);
  lib.printTable(
    ['case', 'matches ours / peer', 'ours p50 / p99 ms', 'ours req/s 1 / 4 conn', 'peer p50 / p99 ms', 'peer req/s 1 / 4 conn', 'ratio 1 / 4 conn', 'goal'],
    results.map((r) => [
      r.name,
      `${lib.fmt(r.ours.total)}${r.ours.totalExact ? '' : ' (est.)'} / ${lib.fmt(r.peer.total)}`,
      `${r.ours.one.p50} / ${r.ours.one.p99}`,
      rates(r.ours),
      `${r.peer.one.p50} / ${r.peer.one.p99}`,
      rates(r.peer),
      `${ratio(r.ratio.one)} / ${ratio(r.ratio.four)}`,
      r.met ? 'met' : 'missed',
    ]),
  );
}

module.exports = { GOAL, pairs, runPeerCases, printPeerCases };
