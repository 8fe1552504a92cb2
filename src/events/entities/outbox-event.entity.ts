import { Column, Entity, PrimaryColumn } from 'typeorm';
import { QueuedRow } from '../../common/entities/queued-row.entity';

/**
 * One domain event, written in the transaction of the change it describes (the transactional outbox)
 * and published by the relay. `seq` orders the events of a user: it is taken under a per-user lock,
 * so it follows the order in which their transactions committed. `created_at` is `occurred_at`.
 */
@Entity('outbox_events')
export class OutboxEvent extends QueuedRow {
  @PrimaryColumn({ type: 'bigint' })
  seq: string;

  @Column({ type: 'uuid' })
  id: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ type: 'varchar' })
  operation: string;

  @Column({ name: 'actor_id', type: 'uuid', nullable: true })
  actorId: string | null;

  @Column({ name: 'request_id', type: 'varchar', nullable: true })
  requestId: string | null;

  /** The changed fields; the published payload is these after the envelope (see eventPayload). */
  @Column({ type: 'jsonb' })
  data: Record<string, unknown>;

  /** The `traceparent` of the change's request (null without tracing): publishing continues its trace. */
  @Column({ name: 'trace_context', type: 'varchar', nullable: true })
  traceContext: string | null;
}
