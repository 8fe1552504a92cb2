import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Multi-factor sign-in (#16): TOTP factors (the secret sealed with USERS_SECRET_KEY, the last time
 * step spent so that a code works once), recovery codes (HMAC-SHA-256 under a key derived from
 * USERS_SECRET_KEY, single-use), the `users.mfa_enabled` flag (a verified factor exists: read with the
 * user on every request, and the admin listing's filter), and each session's assurance: `aal` and
 * `amr`, which its refreshes keep.
 */
export class CreateMfa1736200000000 implements MigrationInterface {
  name = 'CreateMfa1736200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE mfa_factors (
        id              uuid         PRIMARY KEY,
        user_id         uuid         NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        factor_type     varchar(16)  NOT NULL DEFAULT 'totp',
        friendly_name   varchar(255),
        status          varchar(16)  NOT NULL DEFAULT 'unverified',
        secret          bytea        NOT NULL,
        last_used_step  bigint,
        created_at      timestamptz  NOT NULL DEFAULT now(),
        updated_at      timestamptz  NOT NULL DEFAULT now(),
        verified_at     timestamptz,
        CONSTRAINT mfa_factors_status CHECK (status IN ('unverified', 'verified')),
        CONSTRAINT mfa_factors_type CHECK (factor_type IN ('totp'))
      )`);
    await queryRunner.query(`CREATE INDEX mfa_factors_user_id ON mfa_factors (user_id)`);
    await queryRunner.query(`CREATE UNIQUE INDEX mfa_factors_user_name ON mfa_factors (user_id, lower(friendly_name)) WHERE friendly_name IS NOT NULL`);
    await queryRunner.query(`
      CREATE TABLE mfa_recovery_codes (
        user_id     uuid         NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        code_hash   bytea        NOT NULL,
        created_at  timestamptz  NOT NULL DEFAULT now(),
        used_at     timestamptz,
        PRIMARY KEY (user_id, code_hash)
      )`);
    await queryRunner.query(`ALTER TABLE users ADD COLUMN mfa_enabled boolean NOT NULL DEFAULT false`);
    await queryRunner.query(`ALTER TABLE refresh_tokens ADD COLUMN aal varchar(4) NOT NULL DEFAULT 'aal1'`);
    await queryRunner.query(`ALTER TABLE refresh_tokens ADD COLUMN amr jsonb NOT NULL DEFAULT '[]'`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE refresh_tokens DROP COLUMN amr`);
    await queryRunner.query(`ALTER TABLE refresh_tokens DROP COLUMN aal`);
    await queryRunner.query(`ALTER TABLE users DROP COLUMN mfa_enabled`);
    await queryRunner.query(`DROP TABLE mfa_recovery_codes`);
    await queryRunner.query(`DROP TABLE mfa_factors`);
  }
}
