import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Users and their refresh-token sessions. The indexes are part of the first migration because §5's
 * filters must stay fast at millions of rows: trigram GIN indexes serve the case-insensitive substring
 * filters (ILIKE), GIN indexes serve tag overlap/containment and metadata containment, and the
 * (sort key, id) B-trees serve every `order` with its stable tie-breaker.
 */
export class CreateUsers1732500000000 implements MigrationInterface {
  name = 'CreateUsers1732500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE EXTENSION IF NOT EXISTS pg_trgm`);

    await queryRunner.query(`
      CREATE TABLE users (
        id                 uuid         PRIMARY KEY DEFAULT gen_random_uuid(),
        first_name         varchar(254) NOT NULL,
        last_name          varchar(254) NOT NULL,
        email              varchar(254) NOT NULL CHECK (email = lower(email)),
        username           varchar(32),
        password_hash      text,
        tags               text[]       NOT NULL DEFAULT '{}',
        metadata           jsonb        NOT NULL DEFAULT '{}',
        private_metadata   jsonb        NOT NULL DEFAULT '{}',
        profile_picture    text,
        role               varchar(16)  NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
        status             varchar(16)  NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled', 'deleted')),
        auth_provider      varchar(32),
        user_type          varchar(64),
        verified_at        timestamptz,
        tokens_revoked_at  timestamptz,
        deleted_at         timestamptz,
        created_at         timestamptz  NOT NULL DEFAULT now(),
        updated_at         timestamptz  NOT NULL DEFAULT now(),
        updated_by         uuid
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX users_email_key ON users (email)`);
    await queryRunner.query(`CREATE UNIQUE INDEX users_username_key ON users (lower(username))`);

    // Substring search (ILIKE '%…%') on the text filters. fastupdate is off on every GIN index: users
    // are written rarely and listed often, and a pending list left by a burst of sign-ups would make
    // every search scan it until the next vacuum.
    for (const column of ['first_name', 'last_name', 'email', 'username']) {
      await queryRunner.query(`CREATE INDEX users_${column}_trgm ON users USING gin (${column} gin_trgm_ops) WITH (fastupdate = off)`);
    }
    await queryRunner.query(`CREATE INDEX users_tags_gin ON users USING gin (tags) WITH (fastupdate = off)`);
    await queryRunner.query(`CREATE INDEX users_metadata_gin ON users USING gin (metadata jsonb_path_ops) WITH (fastupdate = off)`);

    // Sort keys, each with id as the tie-breaker so that pages are stable.
    for (const column of ['created_at', 'updated_at', 'first_name', 'last_name', 'username']) {
      await queryRunner.query(`CREATE INDEX users_${column}_id ON users (${column}, id)`);
    }
    await queryRunner.query(`CREATE INDEX users_role ON users (role)`);
    await queryRunner.query(`CREATE INDEX users_user_type ON users (user_type)`);
    await queryRunner.query(`CREATE INDEX users_deleted_at ON users (deleted_at) WHERE status = 'deleted'`);

    // One row per issued refresh token; a login starts a family (a session) and every rotation adds
    // the successor to the same family, so that reuse of a spent token can revoke the whole session.
    await queryRunner.query(`
      CREATE TABLE refresh_tokens (
        id           uuid         PRIMARY KEY,
        family_id    uuid         NOT NULL,
        user_id      uuid         NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        token_hash   bytea        NOT NULL,
        description  varchar(255) NOT NULL DEFAULT '',
        created_at   timestamptz  NOT NULL DEFAULT now(),
        expires_at   timestamptz  NOT NULL,
        used_at      timestamptz,
        revoked_at   timestamptz
      )`);
    await queryRunner.query(`CREATE INDEX refresh_tokens_user_id ON refresh_tokens (user_id)`);
    await queryRunner.query(`CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id)`);
    await queryRunner.query(`CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE refresh_tokens`);
    await queryRunner.query(`DROP TABLE users`);
  }
}
