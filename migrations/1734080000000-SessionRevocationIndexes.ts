import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the auth guard asks on every request besides the user row (#8 finding 6): is the token's
 * session (its refresh-token family) revoked — a revoked row in the family, or a row issued before
 * the user's `tokens_revoked_at`. Each is one index probe: the partial index holds revoked rows
 * only, and (family_id, created_at) finds the family's oldest row (it also serves every lookup by
 * family_id, which the index it replaces served).
 */
export class SessionRevocationIndexes1734080000000 implements MigrationInterface {
  name = 'SessionRevocationIndexes1734080000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX refresh_tokens_revoked_family ON refresh_tokens (family_id) WHERE revoked_at IS NOT NULL`);
    await queryRunner.query(`CREATE INDEX refresh_tokens_family_created ON refresh_tokens (family_id, created_at)`);
    await queryRunner.query(`DROP INDEX refresh_tokens_family_id`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id)`);
    await queryRunner.query(`DROP INDEX refresh_tokens_family_created`);
    await queryRunner.query(`DROP INDEX refresh_tokens_revoked_family`);
  }
}
