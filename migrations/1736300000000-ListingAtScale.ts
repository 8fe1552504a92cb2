import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the plans of GET /users and /users/search showed at 1M users (#15):
 *
 * - Every listing filters on `status`, and nothing indexed it: `status=disabled` (100 of 1M users)
 *   walked the `created_at` index for the page and read the whole table for the count (about 200 ms
 *   each). The partial index below holds only the users who are not enabled — a few rows where the
 *   enabled ones are the table — in each order a listing of them asks for by default.
 * - The filters' estimates decide between walking a sort-key index until a page is full (right for a
 *   broad filter) and a bitmap of the matches sorted afterwards (right for a selective one), and whether
 *   `total` is counted or estimated. With the default sample (30,000 rows) a tag on 1 in 10,000 users
 *   was estimated at 5,000 (so the planner walked 110,000 rows of the `created_at` index for a page of
 *   ten), and a substring of the usernames of 1 % of them at 100 or 10,000 depending on the sample.
 *   Larger samples on the filtered columns (below) give estimates within a few percent.
 * - A page at `offset=100000` read 100,000 table rows to skip them (their status was only in the table).
 *   The `created_at` index (the default order) now carries `status`, so that the ids of such a page are
 *   found in that index alone (an index-only scan: about 600 pages read instead of 5,800) and only the
 *   page's own rows are read from the table (UsersRepository.rows()).
 *
 * Plain CREATE INDEX, not CONCURRENTLY: the migrations run in one transaction (src/database/migrate.ts)
 * and on PGlite. They block writes to users while they read the table (a few seconds at 1M users).
 */
export class ListingAtScale1736300000000 implements MigrationInterface {
  name = 'ListingAtScale1736300000000';

  /**
   * Columns of few values (whose rare values decide the plan): the largest sample. Substring-searched
   * names: a middle one, as every ILIKE is tested against each sampled value while a query is planned
   * (0.5 ms per filter at 1,000 values, 0.1 ms at 300). E-mail and metadata keep the default: their
   * estimates were right with it, and their values are unique (planning would pay for every one).
   */
  private readonly statistics: [string, number][] = [
    ['status', 1000],
    ['user_type', 1000],
    ['tags', 1000],
    ['first_name', 300],
    ['last_name', 300],
    ['username', 300],
  ];

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX users_not_enabled_created_at_id ON users (status, created_at, id) WHERE status <> 'enabled'`);
    await queryRunner.query(`DROP INDEX users_created_at_id`);
    await queryRunner.query(`CREATE INDEX users_created_at_id ON users (created_at, id) INCLUDE (status)`);
    for (const [column, target] of this.statistics) await queryRunner.query(`ALTER TABLE users ALTER COLUMN ${column} SET STATISTICS ${target}`);
    await queryRunner.query(`ANALYZE users`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const [column] of this.statistics) await queryRunner.query(`ALTER TABLE users ALTER COLUMN ${column} SET STATISTICS -1`);
    await queryRunner.query(`DROP INDEX users_created_at_id`);
    await queryRunner.query(`CREATE INDEX users_created_at_id ON users (created_at, id)`);
    await queryRunner.query(`DROP INDEX users_not_enabled_created_at_id`);
  }
}
