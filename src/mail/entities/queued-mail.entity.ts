import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A mail waiting in the durable queue (written in the request's transaction), or its record once sent. */
@Entity('mail_outbox')
export class QueuedMail {
  @PrimaryColumn('uuid')
  id: string;

  @Column({ type: 'varchar' })
  kind: string;

  @Column({ type: 'varchar' })
  recipient: string;

  /** The template context, link included, sealed with AES-256-GCM; null once sent. */
  @Column({ name: 'sealed_context', type: 'bytea', nullable: true })
  sealedContext: Buffer | null;

  /** When the mail's link expires: there is no point in sending it later. */
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ type: 'int' })
  attempts: number;

  @Column({ name: 'available_at', type: 'timestamptz' })
  availableAt: Date;

  @Column({ name: 'sent_at', type: 'timestamptz', nullable: true })
  sentAt: Date | null;

  @Column({ name: 'failed_at', type: 'timestamptz', nullable: true })
  failedAt: Date | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;
}
