import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * One domain event, written in the transaction of the change it describes (the transactional outbox)
 * and published by the relay. `seq` orders the events of a user: it is taken under a per-user lock,
 * so it follows the order in which their transactions committed.
 */
@Entity('outbox_events')
export class OutboxEvent {
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

  /** When the change was made: `occurred_at`. */
  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ type: 'int' })
  attempts: number;

  /** Not published before this instant: the backoff after a failed attempt. */
  @Column({ name: 'available_at', type: 'timestamptz' })
  availableAt: Date;

  @Column({ name: 'sent_at', type: 'timestamptz', nullable: true })
  sentAt: Date | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;
}
