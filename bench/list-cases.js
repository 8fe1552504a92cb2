'use strict';
/**
 * GET /users and /users/search at scale, case by case: every filter with a selective (~0.01 %), a medium
 * (~2 %) and a broad (~50 %) value (bench/seed.js plants them), the orders, a deep offset against the
 * cursor for the same page. For each case: the matches, p50/p99 with one connection, req/s with four,
 * and PostgreSQL's plan for the page and for the capped count (when the app counts: the planner expects
 * at most the limit): EXPLAIN (ANALYZE, BUFFERS) of SQL shaped as the repository's (each case states its
 * WHERE clause; the deep cursor's is approximate).
 */
const lib = require('./lib');

/** The app's defaults: USERS_DB_EXACT_TOTAL_LIMIT, and UsersRepository's SORTED_MATCHES_LIMIT, WALK_FIRST_ROWS and SAMPLED_PAGES. */
const EXACT_TOTAL_LIMIT = 1000;
const SORTED_MATCHES_LIMIT = 15000;
const WALK_FIRST_ROWS = 1000;
const SAMPLED_PAGES = 200;

/**
 * How the app finds the first page (UsersRepository.rows()), from the planner's plan of it: under a name
 * filter in a name's order, when the planner expects at most SORTED_MATCHES_LIMIT matches, ordered by the
 * key as an expression no index provides (the matches sorted); and in the order of creation, where the
 * planner would sort the matches of a filter whose selectivity is a guess (a substring of username or
 * e-mail, JSON containment), the order's first WALK_FIRST_ROWS entries walked first.
 */
function appPlan(c, estimate, sortsMatches) {
  const names = /\b(first_name|last_name|username|email) I?LIKE/.test(c.where) && /^(first_name|last_name|username|email) /.test(c.order);
  const sortMatches = names && estimate <= SORTED_MATCHES_LIMIT;
  const guessed = /\b(username|email) I?LIKE\b|metadata @>/.test(c.where);
  return {
    order: sortMatches ? c.order.replace(/^(\w+) /, "($1 || '') ") : c.order,
    walkFirst: guessed && sortsMatches && /^created_at /.test(c.order) && (c.offset ?? 0) < 1000,
  };
}

/** [name, query string, WHERE clause (u = users), ORDER BY] */
function cases(users) {
  // bench/seed.js dates user i at i minutes ago: the created ranges are fractions of the seeded span, from its middle back.
  const at = (minutesAgo) => new Date(Date.now() - Math.round(minutesAgo) * 60 * 1000).toISOString();
  const created = (name, fraction) => {
    const [from, to] = [at(users / 2 + users * fraction), at(users / 2)];
    return list(name, `created_from=${from}&created_to=${to}`, `created_at >= '${from}' AND created_at <= '${to}'`);
  };
  const list = (name, qs, where, order = 'created_at DESC, id DESC') => ({ name, path: `/users?${qs}`, where: `status = 'enabled' AND ${where}`, order });
  return [
    list('no filter', 'limit=10', 'true'),
    list('name selective (zelda)', 'name=zelda', `(first_name ILIKE '%zelda%' OR last_name ILIKE '%zelda%')`),
    list('name medium (ann)', 'name=ann', `(first_name ILIKE '%ann%' OR last_name ILIKE '%ann%')`),
    list('name broad (a)', 'name=a', `(first_name ILIKE '%a%' OR last_name ILIKE '%a%')`),
    list('first_name medium (anna)', 'first_name=anna', `first_name ILIKE '%anna%'`),
    list('last_name medium (hartmann)', 'last_name=hartmann', `last_name ILIKE '%hartmann%'`),
    list('username selective (_123456)', 'username=_123456', `username ILIKE '%\\_123456%'`),
    list('username medium (anna_)', 'username=anna_', `username ILIKE '%anna\\_%'`),
    list('email selective (.123456@)', 'email=.123456@', `email LIKE '%.123456@%'`),
    list('email broad (example)', 'email=example', `email LIKE '%example%'`),
    list('tags selective (vip)', 'tags=vip', `tags && '{vip}'::text[]`),
    list('tags all medium (beta+team-3)', 'tags=beta%2Bteam-3', `tags @> '{beta,team-3}'::text[]`),
    list('tags broad (even)', 'tags=even', `tags && '{even}'::text[]`),
    list('metadata selective (tier gold)', `metadata=${encodeURIComponent('{"tier":"gold"}')}`, `metadata @> '{"tier":"gold"}'::jsonb`),
    list('metadata medium (region r7)', `metadata=${encodeURIComponent('{"region":"r7"}')}`, `metadata @> '{"region":"r7"}'::jsonb`),
    list('metadata broad (half)', `metadata=${encodeURIComponent('{"half":true}')}`, `metadata @> '{"half":true}'::jsonb`),
    { name: 'status selective (disabled)', path: '/users?status=disabled', where: `status = 'disabled'`, order: 'created_at DESC, id DESC' },
    list('role selective (admin)', 'role=admin', `role = 'admin'`),
    list('role broad (user)', 'role=user', `role = 'user'`),
    list('user_type selective (partner)', 'user_type=partner', `user_type = 'partner'`),
    list('user_type medium (reseller)', 'user_type=reseller', `user_type = 'reseller'`),
    list('user_type broad (customer)', 'user_type=customer', `user_type = 'customer'`),
    created('created selective (0.01 %)', 0.0001),
    created('created medium (2 %)', 0.02),
    created('created broad (half)', 0.5),
    list('name medium, order first_name asc', 'name=ann&order=first_name&dir=asc', `(first_name ILIKE '%ann%' OR last_name ILIKE '%ann%')`, 'first_name ASC, id ASC'),
    list('name broad, order email asc', 'name=a&order=email&dir=asc', `(first_name ILIKE '%a%' OR last_name ILIKE '%a%')`, 'email ASC, id ASC'),
    list('no filter, order username desc', 'order=username&dir=desc', 'true', 'username DESC, id DESC'),
    { name: 'search selective (username _12345)', path: '/users/search?username=_12345', where: `status = 'enabled' AND username ILIKE '%\\_12345%'`, order: 'username ASC, id ASC' },
    { name: 'search medium (first_name anna)', path: '/users/search?first_name=anna', where: `status = 'enabled' AND first_name ILIKE '%anna%'`, order: 'username ASC, id ASC' },
    { name: 'search broad (last_name e)', path: '/users/search?last_name=e', where: `status = 'enabled' AND last_name ILIKE '%e%'`, order: 'username ASC, id ASC' },
  ];
}

/** The plan's first lines and its totals, from EXPLAIN (ANALYZE, BUFFERS). */
async function explain(client, sql) {
  const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`);
  return rows.map((row) => row['QUERY PLAN']);
}

async function measure(port, requests, connections, duration) {
  const figures = await lib.runLoad({ port, requests, connections, duration, expectStatus: 200 });
  return { p50: figures.latencyMs.p50, p99: figures.latencyMs.p99, rps: Math.round(figures.rps * 10) / 10, errors: figures.requests - Math.round(figures.rps * duration) };
}

/** GET `path` once; its answer, which must be 200. */
async function firstAnswer(port, path, headers) {
  const res = await lib.request(port, 'GET', path, { headers });
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
  return res.body;
}

/** GET `path` under load: p50/p99 and req/s with one connection, then with four. */
async function measurePath(port, path, headers, duration) {
  const requests = [{ method: 'GET', path, headers }];
  return { one: await measure(port, requests, 1, duration), four: await measure(port, requests, 4, duration) };
}

async function runListCases({ port, adminToken, db, users, duration, only, log }) {
  const headers = { authorization: `Bearer ${adminToken}` };
  const results = [];
  const all = cases(users);
  // Deep pages: offset 100,000 against the cursor of the same page.
  const deep = await lib.request(port, 'GET', '/users?offset=99990&limit=10', { headers });
  if (deep.status !== 200 || !deep.body.next_cursor) throw new Error(`GET /users?offset=99990 answered ${deep.status}`);
  all.push({ name: 'deep page by offset (100,000)', path: '/users?offset=100000&limit=10', where: `status = 'enabled'`, order: 'created_at DESC, id DESC', offset: 100000 });
  all.push({ name: 'deep page by cursor (after 100,000)', path: `/users?limit=10&cursor=${deep.body.next_cursor}`, where: `status = 'enabled' AND (created_at, id) < (now() - interval '100000 minutes', 'ffffffff-ffff-ffff-ffff-ffffffffffff')`, order: 'created_at DESC, id DESC' });

  await lib.withClient(db, async (client) => {
    // The medium metadata filter that the planner underestimates most: JSON containment has no statistics
    // that fit, so each region's estimate (2 % of the users each) follows ANALYZE's sample, often 100.
    const regions = [];
    for (let r = 0; r < 50; r++) {
      const { rows } = await client.query(`EXPLAIN (FORMAT JSON) SELECT 1 FROM users u WHERE status = 'enabled' AND metadata @> $1::jsonb`, [`{"region":"r${r}"}`]);
      regions.push({ r, estimate: rows[0]['QUERY PLAN'][0].Plan['Plan Rows'] });
    }
    const { r: worst, estimate } = regions.reduce((a, b) => (b.estimate < a.estimate ? b : a));
    all.push({ name: `metadata medium, underestimated (region r${worst}: expected ${Math.round(estimate)})`, path: `/users?metadata=${encodeURIComponent(`{"region":"r${worst}"}`)}`,
      where: `status = 'enabled' AND metadata @> '{"region":"r${worst}"}'::jsonb`, order: 'created_at DESC, id DESC' });
    for (const c of all.filter((c) => !only || only.test(c.name))) {
      const first = await firstAnswer(port, c.path, headers);
      // The app's plan of the first page: the estimate (under the Limit), and whether the matches are sorted.
      const { rows: planned } = await client.query(`EXPLAIN (FORMAT JSON) SELECT 1 FROM users u WHERE ${c.where} ORDER BY ${c.order} LIMIT ${(c.offset ?? 0) + 11}`);
      const matches = planned[0]['QUERY PLAN'][0].Plan.Plans?.[0] ?? planned[0]['QUERY PLAN'][0].Plan;
      const estimate = Math.round(matches['Plan Rows']);
      const { order, walkFirst } = appPlan(c, estimate, JSON.stringify(matches).includes('Sort"'));
      // A deep offset finds the page's ids first (UsersRepository.rows(), from offset 1,000): that step's plan.
      const pageSql = (c.offset ?? 0) >= 1000
        ? `SELECT u.id FROM users u WHERE ${c.where} ORDER BY ${order} LIMIT 11 OFFSET ${c.offset}`
        : `SELECT * FROM users u WHERE ${c.where} ORDER BY ${order} LIMIT 11`;
      const countSql = `SELECT count(*) FROM (SELECT 1 FROM users u WHERE ${c.where} LIMIT ${EXACT_TOTAL_LIMIT + 1}) AS matches`;
      // The walk first (a CTE named as the table: the order's first entries); the page above only when it finds fewer than 11.
      const walkPlan = walkFirst ? await explain(client, `WITH users AS (SELECT * FROM users u ORDER BY ${c.order} LIMIT ${WALK_FIRST_ROWS}) SELECT * FROM users u WHERE ${c.where} ORDER BY ${c.order} LIMIT 11`) : [];
      const walkFound = walkPlan.length > 0 && Number(/actual time=\S+ rows=(\d+)/.exec(walkPlan[0])?.[1]) === 11;
      const pagePlan = [...(walkFirst ? ['walked first:', ...walkPlan, walkFound ? 'the walk found the page' : 'then:'] : []), ...(walkFound ? [] : await explain(client, pageSql))];
      // When the walk found the page the app samples first (UsersRepository.sampledTotal()), and counts only up to twice the limit.
      const sampleSql = `WITH sample AS (SELECT least(1, ${SAMPLED_PAGES} / greatest(1, pg_relation_size('users') / current_setting('block_size')::float)) AS share),
        users AS (SELECT * FROM users TABLESAMPLE SYSTEM ((SELECT 100 * share FROM sample)) REPEATABLE (0))
        SELECT count(*) / (SELECT share FROM sample) AS n FROM users u WHERE ${c.where}`;
      const sampled = walkFound && estimate <= EXACT_TOTAL_LIMIT ? Number((await client.query(sampleSql)).rows[0].n) : undefined;
      // A page by offset that is not full is its own total (UsersRepository.page()).
      const countPlan = first.next_cursor === null && (c.offset ?? 0) === 0 && !c.path.includes('cursor=')
        ? [`not counted: the page holds every match (${first.users.length})`]
        : estimate > EXACT_TOTAL_LIMIT
        ? [`not counted: the planner expects ${estimate} matches`]
        : [...(sampled === undefined ? [] : ['sampled:', ...(await explain(client, sampleSql)), sampled > 2 * EXACT_TOTAL_LIMIT ? `not counted: the sample makes ${Math.round(sampled)}` : 'then counted:']),
           ...(sampled > 2 * EXACT_TOTAL_LIMIT ? [] : await explain(client, countSql))];
      const { one, four } = await measurePath(port, c.path, headers, duration);
      const result = { name: c.name, path: c.path, total: first.total, totalExact: first.total_exact, one, four, pagePlan, countPlan };
      results.push(result);
      log(`list case ${c.name}: total ${result.total}${result.totalExact ? '' : ' (estimate)'}, 1 conn p50 ${one.p50} ms p99 ${one.p99} ms ${one.rps} req/s; 4 conn ${four.rps} req/s p99 ${four.p99} ms`);
    }
  });
  return results;
}

/** The table: one line per case, then each case's plans. */
function printListCases(results) {
  console.log('\nGET /users and /users/search cases (p99 goal 20 ms at 1 connection, 300 req/s at 4):');
  console.log('case | matches | 1 conn p50 / p99 ms | req/s | 4 conn req/s | p99 ms');
  for (const r of results) {
    console.log(`${r.name} | ${lib.fmt(r.total)}${r.totalExact ? '' : ' (est.)'} | ${r.one.p50} / ${r.one.p99} | ${r.one.rps} | ${r.four.rps} | ${r.four.p99}`);
  }
  for (const r of results) {
    console.log(`\n-- ${r.name}: ${r.path}\n   page:\n     ${r.pagePlan.join('\n     ')}\n   count:\n     ${r.countPlan.join('\n     ')}`);
  }
}

module.exports = { cases, firstAnswer, measurePath, runListCases, printListCases };
