import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * GoTrue's `signup` and `login` webhooks, waiting for their receiver (WEBHOOK_URL): a row is written in
 * the transaction of the change (with its outbox event) and sent by WebhookDeliverer. `seq` orders a
 * user's deliveries; `refusals` counts the 4xx answers, which WEBHOOK_RETRIES bounds (a receiver that is
 * down or times out does not use them up). No foreign key: a delivery outlives a purged user, and is
 * given up then.
 */
export class CreateWebhookDeliveries1736150000000 implements MigrationInterface {
  name = 'CreateWebhookDeliveries1736150000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE webhook_deliveries (
        seq           bigserial    PRIMARY KEY,
        id            uuid         NOT NULL DEFAULT gen_random_uuid(),
        event         varchar(16)  NOT NULL CHECK (event IN ('signup', 'login')),
        user_id       uuid         NOT NULL,
        created_at    timestamptz  NOT NULL DEFAULT now(),
        attempts      integer      NOT NULL DEFAULT 0,
        refusals      integer      NOT NULL DEFAULT 0,
        available_at  timestamptz  NOT NULL DEFAULT now(),
        sent_at       timestamptz,
        failed_at     timestamptz,
        last_error    text
      )`);
    await queryRunner.query(`CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (available_at) WHERE sent_at IS NULL AND failed_at IS NULL`);
    await queryRunner.query(`CREATE INDEX webhook_deliveries_user_pending ON webhook_deliveries (user_id, seq) WHERE sent_at IS NULL AND failed_at IS NULL`);
    await queryRunner.query(`CREATE INDEX webhook_deliveries_done ON webhook_deliveries (created_at) WHERE sent_at IS NOT NULL OR failed_at IS NOT NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE webhook_deliveries`);
  }
}
