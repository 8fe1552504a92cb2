import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * E-mail flows: the single-use link tokens (verification, recovery, invite), the durable mail queue
 * written in the request's transaction, and the per-address throttle (EMAIL_MIN_INTERVAL).
 */
export class CreateMail1732700000000 implements MigrationInterface {
  name = 'CreateMail1732700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // A token is `<id>.<secret>`; only a SHA-256 of the 256-bit secret is kept. `email` is the address
    // it was sent to: once the user's address changes, the token is worthless.
    await queryRunner.query(`
      CREATE TABLE link_tokens (
        id          uuid         PRIMARY KEY,
        user_id     uuid         NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        purpose     varchar(16)  NOT NULL CHECK (purpose IN ('verification', 'recovery', 'invite')),
        token_hash  bytea        NOT NULL,
        email       varchar(254) NOT NULL,
        created_at  timestamptz  NOT NULL DEFAULT now(),
        expires_at  timestamptz  NOT NULL,
        used_at     timestamptz
      )`);
    await queryRunner.query(`CREATE INDEX link_tokens_user_purpose ON link_tokens (user_id, purpose) WHERE used_at IS NULL`);
    await queryRunner.query(`CREATE INDEX link_tokens_expires_at ON link_tokens (expires_at)`);

    // The template context (with the link) is sealed (AES-256-GCM) while it waits, and wiped once sent.
    await queryRunner.query(`
      CREATE TABLE mail_outbox (
        id              uuid         PRIMARY KEY DEFAULT gen_random_uuid(),
        kind            varchar(32)  NOT NULL,
        recipient       varchar(254) NOT NULL,
        sealed_context  bytea,
        expires_at      timestamptz  NOT NULL,
        created_at      timestamptz  NOT NULL DEFAULT now(),
        attempts        integer      NOT NULL DEFAULT 0,
        available_at    timestamptz  NOT NULL DEFAULT now(),
        sent_at         timestamptz,
        failed_at       timestamptz,
        last_error      text
      )`);
    await queryRunner.query(`CREATE INDEX mail_outbox_pending ON mail_outbox (available_at) WHERE sent_at IS NULL AND failed_at IS NULL`);
    await queryRunner.query(`CREATE INDEX mail_outbox_done ON mail_outbox (created_at) WHERE sent_at IS NOT NULL OR failed_at IS NOT NULL`);

    await queryRunner.query(`
      CREATE TABLE mail_throttle (
        recipient  varchar(254) NOT NULL,
        kind       varchar(32)  NOT NULL,
        last_at    timestamptz  NOT NULL,
        PRIMARY KEY (recipient, kind)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE mail_throttle`);
    await queryRunner.query(`DROP TABLE mail_outbox`);
    await queryRunner.query(`DROP TABLE link_tokens`);
  }
}
