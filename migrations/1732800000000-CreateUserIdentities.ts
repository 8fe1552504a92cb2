import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * OAuth: the external identities linked to users (a user may have one per provider), and the
 * authorization states already spent at a callback, so that a replayed callback is refused.
 */
export class CreateUserIdentities1732800000000 implements MigrationInterface {
  name = 'CreateUserIdentities1732800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE user_identities (
        provider    varchar(32)  NOT NULL,
        subject     varchar(255) NOT NULL,
        user_id     uuid         NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        email       varchar(254),
        created_at  timestamptz  NOT NULL DEFAULT now(),
        last_login_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (provider, subject)
      )`);
    await queryRunner.query(`CREATE INDEX user_identities_user_id ON user_identities (user_id)`);
    await queryRunner.query(`
      CREATE TABLE oauth_spent_states (
        state_hash  bytea        PRIMARY KEY,
        spent_at    timestamptz  NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE oauth_spent_states`);
    await queryRunner.query(`DROP TABLE user_identities`);
  }
}
