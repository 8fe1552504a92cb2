import { Column } from 'typeorm';

/** The delivery columns of a row waiting in an outbox (events, mails) until a worker sends it. */
export abstract class QueuedRow {
  /** When the change that queued it was made. */
  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ type: 'int' })
  attempts: number;

  /** Not sent before this instant: the backoff after a failed attempt. */
  @Column({ name: 'available_at', type: 'timestamptz' })
  availableAt: Date;

  @Column({ name: 'sent_at', type: 'timestamptz', nullable: true })
  sentAt: Date | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;
}
