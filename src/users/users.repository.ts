import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository, SelectQueryBuilder } from 'typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { AppError } from '../common/errors/app-error';
import { containsPattern, uniqueViolation } from '../common/utils/sql';
import { databaseConfig } from '../config/database.config';
import { queryPrepared } from '../database/prepared';
import { ListUsersQueryDto, SearchUsersQueryDto, UserOrder } from './dto/list-users.dto';
import { User } from './entities/user.entity';
import { CursorPosition } from './list-cursor';

const ORDER_PROPERTIES: Record<UserOrder, keyof User> = {
  created_at: 'createdAt',
  updated_at: 'updatedAt',
  first_name: 'firstName',
  last_name: 'lastName',
  username: 'username',
  email: 'email',
};

/** Column values to write; a function is a raw SQL expression such as `() => 'now()'`. */
export type UserChanges = { [K in keyof User]?: User[K] | (() => string) };

/** The SQL type of each sort key, to compare a cursor's key (PostgreSQL's own text of it) with the column. */
const ORDER_TYPES: Record<UserOrder, string> = {
  created_at: 'timestamptz',
  updated_at: 'timestamptz',
  first_name: 'text',
  last_name: 'text',
  username: 'text',
  email: 'text',
};

/** From this offset on, a page by offset is found as ids first (see rows()). */
const DEFERRED_OFFSET = 1000;

/** Sort keys a user may lack: PostgreSQL sorts NULL last ascending and first descending. */
const NULLABLE_ORDERS = new Set<UserOrder>(['username']);

/** The sort keys that are names: a user's username and e-mail address are usually made of their names. */
const NAME_ORDERS = new Set<UserOrder>(['first_name', 'last_name', 'username', 'email']);

/**
 * Up to this many expected matches, a page in a name's order under a name filter is found by sorting
 * the matches (see rows()): at most this many table rows read, 10–45 ms at 1M users, where a walk of a
 * name's index can read every row before the matches' place in it. (At 10,000, the Annas' estimate,
 * 9,900–10,100 depending on ANALYZE's sample, fell on either side of the limit.)
 */
const SORTED_MATCHES_LIMIT = 15_000;

/**
 * How many entries of the order of creation a page whose matches would be sorted walks first (see
 * walk()): 0.5–1 ms at 1M users; it finds the page when at least one row in a hundred matches.
 */
const WALK_FIRST_ROWS = 1000;

/** How many of the table's pages a sampled total reads (see sampledTotal()): some 4,400 users, 1–2 ms. */
const SAMPLED_PAGES = 200;

export interface Page<T> {
  total: number;
  /** false when `total` is the planner's estimate (more than USERS_DB_EXACT_TOTAL_LIMIT matches). */
  totalExact: boolean;
  items: T[];
  /** Where the page's last row stands in the order, when more rows follow it; null on the last page. */
  next: CursorPosition | null;
}

/** How a page is asked for: by offset, or after a cursor's position. */
interface PageRequest {
  order: UserOrder;
  dir: 'asc' | 'desc';
  offset: number;
  limit: number;
  after?: CursorPosition;
  onlyTotal: boolean;
  /** Whether a substring filter on a name (first, last, username, e-mail) applies. */
  namesFiltered: boolean;
  /**
   * Whether a filter's selectivity is one the planner can only guess, so that its estimate may be off a
   * hundredfold: a substring of a value that each user has their own of (username, e-mail address, id)
   * or a JSON containment. The planner tries such a pattern on the hundred or so values of its
   * histogram, as there are no common values to count (a name's are: its estimates hold).
   */
  selectivityGuessed: boolean;
}

/** What the planner would do for the first page. */
interface PagePlan {
  /** The matches it expects. */
  estimate: number;
  /** Whether it would fetch the matches by their filters' indexes and sort them, rather than walk the order's index. */
  sortsMatches: boolean;
}

/** How rows() finds a page. */
interface PageStrategy {
  /** The matches fetched by their filters' indexes and sorted, whatever the planner would do. */
  sortMatches: boolean;
  /** The first WALK_FIRST_ROWS entries of the order of creation looked through first (see walk()). */
  walkFirst: boolean;
}

/** Every query on the users table. */
@Injectable()
export class UsersRepository {
  /** Every column but the password hash, for the hand-written hot-path select. */
  private readonly publicColumns: string;
  /** The same columns as [property, column] pairs, for hydrate. */
  private readonly publicFields: [string, string][];

  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    @Inject(databaseConfig.KEY) private readonly database: ConfigType<typeof databaseConfig>,
  ) {
    this.publicFields = users.metadata.columns.filter((column) => column.propertyName !== 'passwordHash').map((column) => [column.propertyName, column.databaseName]);
    this.publicColumns = this.publicFields.map(([, name]) => `"${name}"`).join(', ');
  }

  /** One prepared primary-key select. */
  async findById(id: string): Promise<User | null> {
    const [row] = await queryPrepared(this.users.manager.connection, 'users_find_by_id', `SELECT ${this.publicColumns} FROM users WHERE id = $1`, [id]);
    return row ? this.hydrate(row) : null;
  }

  /**
   * The auth guard's one query on every authenticated request: the user by primary key, and whether
   * the token's session is revoked — a revoked refresh token in its family, or one issued at or before
   * the user's `tokens_revoked_at` (logout, disable, delete, reset). Both sides of that comparison are
   * the database's own times: the app's clock never decides a revocation. One index probe each.
   */
  async findWithSession(id: string, sessionId: string): Promise<{ user: User; sessionRevoked: boolean } | null> {
    const [row] = await queryPrepared(
      this.users.manager.connection,
      'users_find_with_session',
      `SELECT ${this.publicColumns},
         EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.family_id = $2 AND r.revoked_at IS NOT NULL)
         OR EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.family_id = $2 AND r.created_at <= users.tokens_revoked_at) AS session_revoked
       FROM users WHERE id = $1`,
      [id, sessionId],
    );
    return row ? { user: this.hydrate(row), sessionRevoked: row.session_revoked as boolean } : null;
  }

  /** Looks a user up by e-mail or username (both case-insensitive), with the password hash. */
  findByIdentityWithHash(identity: string): Promise<User | null> {
    return this.users
      .createQueryBuilder('u')
      .addSelect('u.passwordHash')
      .where('u.email = lower(:identity) OR lower(u.username) = lower(:identity)', { identity })
      .orderBy('u.email = lower(:identity)', 'DESC')
      .getOne();
  }

  findByIdWithHash(id: string): Promise<User | null> {
    return this.users.createQueryBuilder('u').addSelect('u.passwordHash').where('u.id = :id', { id }).getOne();
  }

  findByEmail(email: string, manager?: EntityManager): Promise<User | null> {
    return (manager ? manager.getRepository(User) : this.users).findOneBy({ email });
  }

  /** The user, row-locked until the caller's transaction ends. */
  findForUpdate(manager: EntityManager, id: string): Promise<User | null> {
    return manager.getRepository(User).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
  }

  /** Inserts a user; a taken e-mail address or username is a 409, whoever won the race. */
  async insert(user: UserChanges, manager?: EntityManager): Promise<User> {
    const repository = manager ? manager.getRepository(User) : this.users;
    const result = await translateConflicts(() => repository.createQueryBuilder().insert().values(user as QueryDeepPartialEntity<User>).returning('*').execute());
    return this.hydrate((result.raw as Record<string, unknown>[])[0]);
  }

  /** Inserts unless a user with the same e-mail or username exists; true when a row was written. */
  async insertIfAbsent(user: UserChanges): Promise<boolean> {
    const result = await this.users.createQueryBuilder().insert().values(user as QueryDeepPartialEntity<User>).orIgnore().returning('id').execute();
    return (result.raw as unknown[]).length > 0;
  }

  /** Updates one user and returns the new row, or null when no such user exists; a taken e-mail address or username is a 409. */
  async update(
    id: string,
    changes: UserChanges,
    { manager, parameters }: { manager?: EntityManager; parameters?: Record<string, unknown> } = {},
  ): Promise<User | null> {
    const repository = manager ? manager.getRepository(User) : this.users;
    const result = await translateConflicts(() =>
      repository
        .createQueryBuilder()
        .update()
        .set({ ...changes, updatedAt: () => 'now()' } as QueryDeepPartialEntity<User>)
        .where('id = :id', { ...parameters, id })
        .returning('*')
        .execute(),
    );
    const [row] = result.raw as Record<string, unknown>[];
    return row ? this.hydrate(row) : null;
  }

  /** Marks the user's address verified, if it is still `email` and the user is enabled; null otherwise. */
  async markVerified(manager: EntityManager, id: string, email: string): Promise<User | null> {
    const result = await manager
      .getRepository(User)
      .createQueryBuilder()
      .update()
      .set({ verifiedAt: () => 'COALESCE(verified_at, now())', updatedAt: () => 'now()' })
      .where(`id = :id AND email = :email AND status = 'enabled'`, { id, email })
      .returning('*')
      .execute();
    const [row] = result.raw as Record<string, unknown>[];
    return row ? this.hydrate(row) : null;
  }

  /** Turns a `RETURNING *` row (column names) into an entity (property names), minus the hash. */
  /** The entity of a row: the properties always set in the same order (one hidden class, no garbage per column). */
  private hydrate(row: Record<string, unknown>): User {
    const user = new User() as unknown as Record<string, unknown>;
    for (const [property, name] of this.publicFields) user[property] = row[name];
    return user as unknown as User;
  }

  /** The user with this address if it is an invitation nobody took up yet (no password, unverified, no provider), row-locked. */
  findPendingInvitation(manager: EntityManager, email: string): Promise<User | null> {
    return manager
      .getRepository(User)
      .createQueryBuilder('u')
      .where(`u.email = lower(:email) AND u.passwordHash IS NULL AND u.verifiedAt IS NULL AND u.authProvider IS NULL AND u.status = 'enabled'`, { email })
      .setLock('pessimistic_write')
      .getOne();
  }

  /**
   * Whether the user's session (refresh-token family `sessionId`, whose first token is dated by its
   * login) is live and began within the last `windowMs`, by the database's clock.
   */
  async sessionIsRecent(userId: string, sessionId: string, windowMs: number): Promise<boolean> {
    const rows: unknown[] = await this.users.query(
      `SELECT 1 FROM refresh_tokens
       WHERE id = $1 AND family_id = $1 AND user_id = $2 AND revoked_at IS NULL AND created_at > now() - $3 * interval '1 millisecond'`,
      [sessionId, userId, windowMs],
    );
    return rows.length > 0;
  }

  /**
   * When the user last signed in (the start of their latest session) and their external identities:
   * what GoTrue's user object shows beside the user row, in one query (in `manager`'s transaction when given).
   */
  async signInFacts(userId: string, manager?: EntityManager): Promise<{ lastSignInAt: Date | null; identities: { provider: string; subject: string; email: string | null; createdAt: string; lastLoginAt: string }[] }> {
    const [row] = await (manager ?? this.users.manager).query(
      `SELECT (SELECT max(created_at) FROM refresh_tokens WHERE user_id = $1 AND id = family_id) AS last_sign_in_at,
              COALESCE((SELECT json_agg(json_build_object('provider', provider, 'subject', subject, 'email', email, 'createdAt', created_at, 'lastLoginAt', last_login_at) ORDER BY created_at)
                        FROM user_identities WHERE user_id = $1), '[]'::json) AS identities`,
      [userId],
    );
    return { lastSignInAt: row.last_sign_in_at, identities: row.identities };
  }

  /** Whether any admin account exists (enabled or disabled; deleted ones do not count). */
  async anyAdminExists(): Promise<boolean> {
    const rows: unknown[] = await this.users.query(`SELECT 1 FROM users WHERE role = 'admin' AND status <> 'deleted' LIMIT 1`);
    return rows.length > 0;
  }

  /** Locks the enabled admins (in the caller's transaction) and returns their ids. */
  async lockEnabledAdmins(manager: EntityManager): Promise<string[]> {
    const rows: { id: string }[] = await manager.query(
      `SELECT id FROM users WHERE role = 'admin' AND status = 'enabled' FOR UPDATE`,
    );
    return rows.map((row) => row.id);
  }

  async list(query: ListUsersQueryDto, after?: CursorPosition): Promise<Page<User>> {
    const qb = this.users.createQueryBuilder('u');
    if (query.status !== 'all') qb.andWhere('u.status = :status', { status: query.status });
    this.whereContains(qb, 'first_name', query.first_name);
    this.whereContains(qb, 'last_name', query.last_name);
    this.whereContains(qb, 'username', query.username);
    // Addresses are stored lowercased (a CHECK constraint): LIKE of the lowercased pattern is ILIKE's
    // answer, without lowering every row it looks at.
    if (query.email !== undefined) qb.andWhere('u.email LIKE lower(:email)', { email: containsPattern(query.email) });
    if (query.name !== undefined) {
      qb.andWhere('(u.first_name ILIKE :name OR u.last_name ILIKE :name)', { name: containsPattern(query.name) });
    }
    const namesFiltered = [query.first_name, query.last_name, query.username, query.email, query.name].some((value) => value !== undefined);
    if (query.tags !== undefined) {
      const { tags, all } = parseTags(query.tags);
      qb.andWhere(all ? 'u.tags @> :tags::text[]' : 'u.tags && :tags::text[]', { tags });
    }
    if (query.metadata !== undefined) qb.andWhere('u.metadata @> :metadata::jsonb', { metadata: query.metadata });
    if (query.user_type !== undefined) qb.andWhere('u.user_type = :userType', { userType: query.user_type });
    if (query.role !== undefined) qb.andWhere('u.role = :role', { role: query.role });
    if (query.mfa !== undefined) qb.andWhere('u.mfa_enabled = :mfa', { mfa: query.mfa === 'true' });
    if (query.created_from !== undefined) qb.andWhere('u.created_at >= :from', { from: query.created_from });
    if (query.created_to !== undefined) qb.andWhere('u.created_at <= :to', { to: query.created_to });
    const selectivityGuessed = [query.username, query.email, query.metadata].some((value) => value !== undefined);
    return this.page(qb, { order: query.order, dir: query.dir, offset: query.offset, limit: query.limit, after, onlyTotal: query.only_total, namesFiltered, selectivityGuessed });
  }

  /** Enabled users only: this is what any verified user may look through. */
  async search(query: SearchUsersQueryDto, after?: CursorPosition): Promise<Page<User>> {
    const qb = this.users.createQueryBuilder('u').where(`u.status = 'enabled'`);
    this.whereContains(qb, 'username', query.username);
    this.whereContains(qb, 'first_name', query.first_name);
    this.whereContains(qb, 'last_name', query.last_name);
    if (query.id !== undefined) qb.andWhere('u.id::text LIKE :id', { id: `${query.id.toLowerCase()}%` });
    const namesFiltered = [query.username, query.first_name, query.last_name].some((value) => value !== undefined);
    const selectivityGuessed = query.username !== undefined || query.id !== undefined;
    return this.page(qb, { order: 'username', dir: 'asc', offset: query.offset, limit: query.limit, after, onlyTotal: false, namesFiltered, selectivityGuessed });
  }

  private whereContains(qb: SelectQueryBuilder<User>, column: string, value: string | undefined) {
    if (value !== undefined) qb.andWhere(`u.${column} ILIKE :${column}`, { [column]: containsPattern(value) });
  }

  /**
   * The page, then the total, after the planner's plan of the page (one EXPLAIN, nothing executed), which
   * decides how they are found (see walk(), rows() and total()). A page by offset that is not full tells
   * the total by itself, exact (then nothing is counted): the selective filters' pages are.
   */
  private async page(qb: SelectQueryBuilder<User>, request: PageRequest): Promise<Page<User>> {
    const plan = await this.plan(qb, request);
    const { sortMatches, walkFirst } = pageStrategy(request, plan);
    const walked = walkFirst && !request.onlyTotal ? await this.walk(qb, request) : undefined;
    const rows = walked ?? (request.onlyTotal ? [] : await this.rows(qb, request, sortMatches));
    const told = request.onlyTotal ? undefined : totalOfPage(request, rows);
    const total = told !== undefined && told <= this.database.exactTotalLimit ? { total: told, totalExact: true } : await this.total(qb, plan.estimate, walked !== undefined);
    const more = rows.length > request.limit;
    const items = rows.slice(0, request.limit);
    const last = items.at(-1);
    return {
      ...total,
      items: items.map((row) => row.user),
      next: more && last ? { key: last.key, id: last.user.id } : null,
    };
  }

  /** The planner's plan of the first page in the order asked for (one EXPLAIN, nothing executed). */
  private async plan(qb: SelectQueryBuilder<User>, { order, dir, offset, limit }: PageRequest): Promise<PagePlan> {
    const direction = dir === 'asc' ? 'ASC' : 'DESC';
    const [sql, parameters] = qb.clone().select('1').orderBy(`u.${ORDER_PROPERTIES[order]}`, direction).addOrderBy('u.id', direction).limit(offset + limit + 1).getQueryAndParameters();
    const [{ 'QUERY PLAN': [{ Plan: limited }] }] = (await this.users.query(`EXPLAIN (FORMAT JSON) ${sql}`, parameters)) as { 'QUERY PLAN': [{ Plan: PlanNode }] }[];
    // Under the Limit, the node that yields every match: its rows are the estimate.
    const matches = limited.Plans?.[0] ?? limited;
    return { estimate: Math.round(matches['Plan Rows']), sortsMatches: containsSort(matches) };
  }

  /**
   * When the planner expects more than USERS_DB_EXACT_TOTAL_LIMIT matches, its estimate is the total,
   * flagged as not exact: counting is then the whole cost of the request (the rows of a trigram or GIN
   * match are read from the table one by one, each on its own page: at 1M users, counting 10,000 of
   * them reads 10,000 pages, 7–12 ms, where the page takes one). Otherwise the matches are counted up to
   * the limit + 1 (`count(*)` over a `LIMIT`ed subquery stops reading there): exact at or below the
   * limit, else the limit + 1 at least, flagged.
   *
   * `estimateBelied`: the order's first entries held the page (walk()) although the planner expected
   * few matches. Counting even a thousand of them would first read every match's entry in the filter's
   * index (a GIN bitmap is built whole: 200,000 entries for region r6 at 10M users, 196 ms), so a
   * sample is taken first, and past twice the limit its figure is the total, flagged; nearer the
   * limit, the count (reading at most the limit + 1) settles it.
   */
  private async total(qb: SelectQueryBuilder<User>, estimate: number, estimateBelied: boolean): Promise<{ total: number; totalExact: boolean }> {
    const limit = this.database.exactTotalLimit;
    if (estimate <= limit && estimateBelied) {
      const sampled = await this.sampledTotal(qb);
      if (sampled > 2 * limit) return { total: sampled, totalExact: false };
    }
    if (estimate <= limit) {
      const [sql, parameters] = qb.clone().orderBy().select('1').getQueryAndParameters();
      const [{ n }] = (await this.users.query(`SELECT count(*)::int AS n FROM (${sql} LIMIT ${limit + 1}) AS matches`, parameters)) as { n: number }[];
      if (n <= limit) return { total: n, totalExact: true };
    }
    return { total: Math.max(limit + 1, estimate), totalExact: false };
  }

  /**
   * The matches among SAMPLED_PAGES of the table's pages (TABLESAMPLE SYSTEM: whole pages, the same ones
   * each time while the table is unchanged; every page of a smaller table), scaled to the whole table:
   * 1–2 ms at any size, as ANALYZE samples, but of this filter. (A CTE named as the table again.)
   */
  private async sampledTotal(qb: SelectQueryBuilder<User>): Promise<number> {
    const sampled = await qb
      .clone()
      .orderBy()
      .select('count(*) / (SELECT share FROM sample)', 'n')
      .addCommonTableExpression(`SELECT least(1, ${SAMPLED_PAGES} / greatest(1, pg_relation_size('users') / current_setting('block_size')::float)) AS share`, 'sample')
      .addCommonTableExpression(`SELECT * FROM users TABLESAMPLE SYSTEM ((SELECT 100 * share FROM sample)) REPEATABLE (0)`, 'users')
      .getRawOne<{ n: number }>();
    return Math.round(Number(sampled?.n ?? 0));
  }

  /**
   * The page, if the first WALK_FIRST_ROWS entries of the order of creation (after the cursor) hold it;
   * else undefined. For a page whose matches would be fetched and sorted (rows()): the planner sorts them
   * when it expects few, and for a substring or JSON containment it can only guess: at 1M users it
   * expected 100 users in region r7 where there are 20,000, and fetched and sorted them all (99 ms) for
   * a page that the newest 550 users hold. The entries are a CTE named as the table (the query's `users`
   * is then that prefix of the order, a range of its index): at most WALK_FIRST_ROWS rows read,
   * whatever the estimate, about 1 ms when they do not hold the page.
   */
  private async walk(qb: SelectQueryBuilder<User>, request: PageRequest): Promise<PageRow[] | undefined> {
    const { order, dir, after } = request;
    const direction = dir === 'asc' ? 'ASC' : 'DESC';
    const column = `u.${ORDER_PROPERTIES[order]}`;
    const prefix = this.users.createQueryBuilder('u').select('*').orderBy(column, direction).addOrderBy('u.id', direction).limit(WALK_FIRST_ROWS);
    const page = orderedRows(qb.clone(), request, column);
    if (after !== undefined) {
      pastCursor(prefix, request, after);
      pastCursor(page, request, after);
    }
    const rows = await fetchRows(page.addCommonTableExpression(prefix, 'users').offset(request.offset), request.limit + 1);
    return rows.length > request.limit ? rows : undefined;
  }

  /**
   * Up to limit + 1 rows (the one past the page says whether another follows), each with its sort key as
   * PostgreSQL's text for the next cursor. By offset: one query (two from DEFERRED_OFFSET on). After a cursor: the rows past
   * (key, id) in the order, as a row comparison that the (key, id) B-tree answers by a range scan; for
   * a nullable key the order is two runs (non-NULL keys, then the NULLs ascending; the reverse
   * descending), each asked for in turn until the page is full.
   *
   * `sortMatches`: the matches are found first and sorted, instead of walking the sort key's index until
   * the page is full. The planner walks the index when it expects a match every so many entries, as if
   * the filter's matches were spread evenly along the order; under a name filter in a name's order they
   * are often bunched (usernames and e-mail addresses begin with the first name: at 1M users, the 10,000
   * users called Anna sit after 50,000 others in the username order: a walk of 50,011 rows, 157 ms).
   * PostgreSQL keeps no statistics of that, so when it expects few matches (SORTED_MATCHES_LIMIT), the
   * sort key is ordered as an expression (`key || ''`: the same values, the same order, the same NULLs)
   * that no index provides, and the planner fetches the matches (a bitmap of the trigram index) and
   * sorts them: a cost bounded by the matches, wherever they sit.
   */
  private async rows(qb: SelectQueryBuilder<User>, request: PageRequest, sortMatches: boolean): Promise<PageRow[]> {
    const { order, dir, limit, after } = request;
    const direction = dir === 'asc' ? 'ASC' : 'DESC';
    const column = `u.${ORDER_PROPERTIES[order]}`;
    const key = sortMatches ? `(${column} || '')` : column;
    const ordered = (where?: (q: SelectQueryBuilder<User>) => void) => {
      const q = qb.clone();
      where?.(q);
      return orderedRows(q, request, key);
    };
    if (after === undefined && request.offset < DEFERRED_OFFSET) return fetchRows(ordered().offset(request.offset), limit + 1);
    if (after === undefined) {
      // A deep offset: the ids of the page first, skipping the offset's rows by the sort key's index
      // alone where it covers the filters (created_at's carries status: no table row is read for a
      // skipped user), then only those rows.
      const ids = (await qb.clone().select('u.id', 'id').orderBy(key, direction).addOrderBy('u.id', direction).offset(request.offset).limit(limit + 1).getRawMany<{ id: string }>()).map((row) => row.id);
      return ids.length === 0 ? [] : fetchRows(ordered((q) => q.andWhere('u.id IN (:...pageIds)', { pageIds: ids })), limit + 1);
    }

    if (!NULLABLE_ORDERS.has(order)) return fetchRows(ordered((q) => pastCursor(q, request, after)), limit + 1);
    // The runs in this direction's order, from the cursor's run on.
    const runs: ('keys' | 'nulls')[] = dir === 'asc' ? ['keys', 'nulls'] : ['nulls', 'keys'];
    const comparison = dir === 'asc' ? '>' : '<';
    const rows: PageRow[] = [];
    for (const [i, run] of runs.slice(runs.indexOf(after.key === null ? 'nulls' : 'keys')).entries()) {
      const first = i === 0;
      const q = ordered((q) => {
        if (run === 'nulls') q.andWhere(`u.${order} IS NULL`);
        if (run === 'nulls' && first) q.andWhere(`u.id ${comparison} :cursorId::uuid`, { cursorId: after.id });
        if (run === 'keys' && first) pastCursor(q, request, after);
        if (run === 'keys' && !first) q.andWhere(`u.${order} IS NOT NULL`);
      });
      rows.push(...(await fetchRows(q, limit + 1 - rows.length)));
      if (rows.length > limit) break;
    }
    return rows;
  }
}

/** The fields of an EXPLAIN (FORMAT JSON) node that page() reads. */
interface PlanNode {
  'Node Type': string;
  'Plan Rows': number;
  Plans?: PlanNode[];
}

/** A row of a page, with its sort key as PostgreSQL's text (for the next cursor). */
type PageRow = { user: User; key: string | null };

/** `q`'s rows in the page's order by `key` (the sort key, or an expression of it), with their keys. */
function orderedRows(q: SelectQueryBuilder<User>, { order, dir }: PageRequest, key: string): SelectQueryBuilder<User> {
  const direction = dir === 'asc' ? 'ASC' : 'DESC';
  return q.addSelect(`u.${order}::text`, 'cursor_key').orderBy(key, direction).addOrderBy('u.id', direction);
}

async function fetchRows(q: SelectQueryBuilder<User>, take: number): Promise<PageRow[]> {
  const { raw, entities } = await q.limit(take).getRawAndEntities<{ cursor_key: string | null }>();
  return entities.map((user, i) => ({ user, key: raw[i].cursor_key }));
}

/** The rows past `cursor` in the page's order: a row comparison that the (key, id) B-tree answers by a range scan. */
function pastCursor(q: SelectQueryBuilder<User>, { order, dir }: PageRequest, cursor: CursorPosition): SelectQueryBuilder<User> {
  return q.andWhere(`(u.${order}, u.id) ${dir === 'asc' ? '>' : '<'} (:cursorKey::${ORDER_TYPES[order]}, :cursorId::uuid)`, { cursorKey: cursor.key, cursorId: cursor.id });
}

/**
 * The number of matches a page by offset shows when it is not full (no row past it): the offset's, if
 * the page holds any (else the matches may end before the offset), and its own. Undefined after a cursor.
 */
function totalOfPage({ offset, limit, after }: PageRequest, rows: PageRow[]): number | undefined {
  if (after !== undefined || rows.length > limit || (rows.length === 0 && offset > 0)) return undefined;
  return offset + rows.length;
}

/** Whether a plan sorts its rows anywhere (`Sort`, `Incremental Sort`). */
function containsSort(node: PlanNode): boolean {
  return node['Node Type'].endsWith('Sort') || (node.Plans ?? []).some(containsSort);
}

/**
 * How the page is found: under a name filter in a name's order, the matches sorted when the planner
 * expects at most SORTED_MATCHES_LIMIT (see rows()); and in the order of creation, a walk of its first
 * entries before a sort of matches whose number the planner could only guess.
 */
function pageStrategy(request: PageRequest, plan: PagePlan): PageStrategy {
  const sortMatches = request.namesFiltered && NAME_ORDERS.has(request.order) && plan.estimate <= SORTED_MATCHES_LIMIT;
  // Only in the order of creation, which is the table's own (rows are appended as users sign up): its
  // first entries lie on a few dozen pages, where those of a name's order lie on as many pages as
  // entries (1,000 pages, 3–14 ms, as much as sorting thousands of matches). Not from a deep offset.
  const walkable = request.order === 'created_at' && request.offset < DEFERRED_OFFSET;
  return { sortMatches, walkFirst: walkable && request.selectivityGuessed && plan.sortsMatches };
}

/** Unique violations become 409s; checking first would race with a concurrent writer. */
async function translateConflicts<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const constraint = uniqueViolation(error);
    if (constraint === 'users_email_key') throw new AppError('EMAIL_TAKEN');
    if (constraint === 'users_username_key') throw new AppError('USERNAME_TAKEN');
    throw error;
  }
}

/** `a,b` means any of the tags; `a+b` (which a query string may deliver as `a b`) means all of them. */
export function parseTags(value: string): { tags: string[]; all: boolean } {
  const all = /[+ ]/.test(value) && !value.includes(',');
  const tags = value
    .split(all ? /[+ ]/ : ',')
    .map((tag) => tag.trim())
    .filter((tag) => tag.length > 0);
  return { tags, all };
}
