import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The W3C `traceparent` of the request that recorded an event (null without tracing): the relay
 * publishes it later, in a span of that same trace, so that a trace shows the request's event going out.
 */
export class OutboxTraceContext1735100000000 implements MigrationInterface {
  name = 'OutboxTraceContext1735100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE outbox_events ADD COLUMN trace_context varchar(256)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE outbox_events DROP COLUMN trace_context`);
  }
}
