'use strict';
/**
 * Seed the users table with SQL (generate_series) once the schema exists. Every seeded user shares
 * one precomputed argon2id hash of a known password, so any of them can log in.
 *
 * Names: 100 first names x 101 last names. Exactly one first name (Anna) and one last name
 * (Hartmann) contain "ann", so `name=ann` matches about 2 % of the rows: selective, not empty.
 */
const FIRST_NAMES = [
  'James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Michael', 'Linda', 'David', 'Elizabeth',
  'William', 'Barbara', 'Richard', 'Susan', 'Joseph', 'Jessica', 'Thomas', 'Sarah', 'Charles', 'Karen',
  'Christopher', 'Lisa', 'Daniel', 'Nancy', 'Matthew', 'Betty', 'Anthony', 'Margaret', 'Mark', 'Sandra',
  'Donald', 'Ashley', 'Steven', 'Kimberly', 'Paul', 'Emily', 'Andrew', 'Donna', 'Joshua', 'Michelle',
  'Kenneth', 'Carol', 'Kevin', 'Amanda', 'Brian', 'Dorothy', 'George', 'Melissa', 'Timothy', 'Deborah',
  'Ronald', 'Stephanie', 'Edward', 'Rebecca', 'Jason', 'Sharon', 'Jeffrey', 'Laura', 'Ryan', 'Cynthia',
  'Jacob', 'Kathleen', 'Gary', 'Amy', 'Nicholas', 'Angela', 'Eric', 'Shirley', 'Jonathan', 'Anna',
  'Stephen', 'Brenda', 'Larry', 'Pamela', 'Justin', 'Emma', 'Scott', 'Nicole', 'Brandon', 'Helen',
  'Benjamin', 'Samantha', 'Samuel', 'Katherine', 'Gregory', 'Christine', 'Alexander', 'Debra', 'Frank', 'Rachel',
  'Patrick', 'Carolyn', 'Raymond', 'Janet', 'Jack', 'Catherine', 'Dennis', 'Maria', 'Jerry', 'Heather',
];
const LAST_NAMES = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez',
  'Hernandez', 'Lopez', 'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin',
  'Lee', 'Perez', 'Thompson', 'White', 'Harris', 'Sanchez', 'Clark', 'Ramirez', 'Lewis', 'Robinson',
  'Walker', 'Young', 'Allen', 'King', 'Wright', 'Scott', 'Torres', 'Nguyen', 'Hill', 'Flores',
  'Green', 'Adams', 'Nelson', 'Baker', 'Hall', 'Rivera', 'Campbell', 'Mitchell', 'Carter', 'Roberts',
  'Gomez', 'Phillips', 'Evans', 'Turner', 'Diaz', 'Parker', 'Cruz', 'Edwards', 'Collins', 'Reyes',
  'Stewart', 'Morris', 'Morales', 'Murphy', 'Cook', 'Rogers', 'Gutierrez', 'Ortiz', 'Morgan', 'Cooper',
  'Peterson', 'Bailey', 'Reed', 'Kelly', 'Howard', 'Ramos', 'Kim', 'Cox', 'Ward', 'Richardson',
  'Watson', 'Brooks', 'Chavez', 'Wood', 'James', 'Bennett', 'Gray', 'Mendoza', 'Ruiz', 'Hughes',
  'Price', 'Alvarez', 'Castillo', 'Sanders', 'Patel', 'Myers', 'Long', 'Ross', 'Foster', 'Jimenez',
  'Hartmann',
];

/**
 * Insert `count` users in one INSERT … SELECT generate_series, with the users table's secondary indexes
 * dropped during the load and built after it (one sorted build each is several times faster than a
 * million random inserts into eleven indexes: 1M users seeded in 370 s with them in place). The primary
 * key stays: refresh_tokens references it. auth_provider is copied from the admin row the app created
 * (if any), so seeded users look like the app's own password users.
 *
 * Besides the names, the rows carry what the list bench's cases filter on, each with a selective
 * (1 in 10,000), a medium (about 2 %) and a broad (about 50 %) value: tags `vip` / `beta`+`team-3` /
 * `even`, metadata `{"tier":"gold"}` / `{"region":"r7"}` / `{"half":true}`, user_type `partner` /
 * `reseller` / `customer`, role `admin`, status `disabled`, and first name Zelda (1 in 10,000).
 */
async function seedUsers(client, { count, passwordHash, log = () => {} }) {
  await client.query(`SET maintenance_work_mem = '512MB'`);
  await client.query(`SET work_mem = '64MB'`);
  await client.query(`SET synchronous_commit = off`);
  const { rows: indexes } = await client.query(
    `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
     FROM pg_index i WHERE i.indrelid = 'users'::regclass AND NOT i.indisprimary`,
  );
  for (const index of indexes) await client.query(`DROP INDEX ${index.name}`);
  let started = Date.now();
  await client.query(
    `
    WITH names AS (SELECT $2::text[] AS f, $3::text[] AS l),
         admin AS (SELECT (SELECT auth_provider FROM users WHERE role = 'admin' ORDER BY created_at LIMIT 1) AS provider)
    INSERT INTO users (first_name, last_name, email, username, password_hash, tags, metadata,
                       role, status, auth_provider, user_type, verified_at, created_at, updated_at)
    SELECT fn, ln,
           lower(fn || '.' || ln || '.' || i || '@example.test'),
           lower(fn) || '_' || i,
           $4,
           ARRAY['team-' || (i % 7)]
             || CASE WHEN i % 5 = 0 THEN ARRAY['beta'] ELSE '{}' END
             || CASE WHEN i % 2 = 0 THEN ARRAY['even'] ELSE '{}' END
             || CASE WHEN i % 10000 = 1 THEN ARRAY['vip'] ELSE '{}' END,
           jsonb_build_object('plan', (ARRAY['free', 'pro', 'business'])[1 + i % 3], 'seq', i, 'region', 'r' || (i % 50), 'half', i % 2 = 0)
             || CASE WHEN i % 10000 = 2 THEN '{"tier":"gold"}'::jsonb ELSE '{}' END,
           CASE WHEN i % 10000 = 3 THEN 'admin' ELSE 'user' END,
           CASE WHEN i % 10000 = 4 THEN 'disabled' ELSE 'enabled' END,
           admin.provider,
           CASE WHEN i % 10000 = 5 THEN 'partner' WHEN i % 50 = 6 THEN 'reseller' WHEN i % 2 = 1 THEN 'customer' END,
           ts, ts, ts
    FROM generate_series(1, $1::int) AS i
    CROSS JOIN names CROSS JOIN admin
    CROSS JOIN LATERAL (SELECT CASE WHEN i % 10000 = 7 THEN 'Zelda' ELSE names.f[1 + i % cardinality(names.f)] END AS fn,
                               names.l[1 + (i / cardinality(names.f)) % cardinality(names.l)] AS ln,
                               now() - make_interval(mins => i) AS ts) AS v`,
    [count, FIRST_NAMES, LAST_NAMES, passwordHash],
  );
  log(`seed: ${count} rows inserted in ${Date.now() - started} ms; building ${indexes.length} indexes`);
  started = Date.now();
  for (const index of indexes) await client.query(index.definition);
  log(`seed: indexes built in ${Date.now() - started} ms`);
  // What autovacuum would have done by the time such a table is queried: statistics, visibility map.
  await client.query('VACUUM ANALYZE users');
}

module.exports = { seedUsers, FIRST_NAMES, LAST_NAMES };
