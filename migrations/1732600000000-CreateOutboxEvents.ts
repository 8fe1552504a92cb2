import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The transactional outbox of domain events (API.md §6). Rows are written in the transaction of the
 * change and published by the relay; `seq` orders them, and the partial indexes keep the relay's
 * "oldest unsent rows, no earlier unsent row of the same user" query cheap however many sent rows
 * wait for the scheduler's cleanup.
 */
export class CreateOutboxEvents1732600000000 implements MigrationInterface {
  name = 'CreateOutboxEvents1732600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE outbox_events (
        seq           bigint       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id            uuid         NOT NULL UNIQUE,
        user_id       uuid         NOT NULL,
        operation     varchar(64)  NOT NULL,
        actor_id      uuid,
        request_id    varchar(128),
        data          jsonb        NOT NULL DEFAULT '{}',
        created_at    timestamptz  NOT NULL DEFAULT now(),
        attempts      integer      NOT NULL DEFAULT 0,
        available_at  timestamptz  NOT NULL DEFAULT now(),
        sent_at       timestamptz,
        last_error    text
      )`);
    await queryRunner.query(`CREATE INDEX outbox_events_unsent ON outbox_events (seq) WHERE sent_at IS NULL`);
    await queryRunner.query(`CREATE INDEX outbox_events_unsent_by_user ON outbox_events (user_id, seq) WHERE sent_at IS NULL`);
    await queryRunner.query(`CREATE INDEX outbox_events_sent_at ON outbox_events (sent_at) WHERE sent_at IS NOT NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE outbox_events`);
  }
}
