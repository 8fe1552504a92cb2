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
 * Insert `count` users. auth_provider is copied from the admin row the app created (if any), so
 * seeded users look like the app's own password users.
 */
async function seedUsers(client, { count, passwordHash }) {
  await client.query(`SET maintenance_work_mem = '256MB'`);
  await client.query(`SET work_mem = '64MB'`);
  await client.query(
    `
    WITH names AS (SELECT $2::text[] AS f, $3::text[] AS l),
         admin AS (SELECT (SELECT auth_provider FROM users WHERE role = 'admin' ORDER BY created_at LIMIT 1) AS provider)
    INSERT INTO users (first_name, last_name, email, username, password_hash, tags, metadata,
                       role, status, auth_provider, verified_at, created_at, updated_at)
    SELECT fn, ln,
           lower(fn || '.' || ln || '.' || i || '@example.test'),
           lower(fn) || '_' || i,
           $4,
           CASE WHEN i % 5 = 0 THEN ARRAY['team-' || (i % 7), 'beta'] ELSE ARRAY['team-' || (i % 7)] END,
           jsonb_build_object('plan', (ARRAY['free', 'pro', 'business'])[1 + i % 3], 'seq', i),
           'user', 'enabled', admin.provider,
           ts, ts, ts
    FROM generate_series(1, $1::int) AS i
    CROSS JOIN names CROSS JOIN admin
    CROSS JOIN LATERAL (SELECT names.f[1 + i % cardinality(names.f)] AS fn,
                               names.l[1 + (i / cardinality(names.f)) % cardinality(names.l)] AS ln,
                               now() - make_interval(mins => i) AS ts) AS v`,
    [count, FIRST_NAMES, LAST_NAMES, passwordHash],
  );
  // What autovacuum would have done by the time such a table is queried: statistics, visibility map.
  await client.query('VACUUM ANALYZE users');
}

module.exports = { seedUsers, FIRST_NAMES, LAST_NAMES };
