import { Column, Entity, PrimaryColumn } from 'typeorm';
import { QueuedRow } from '../../common/entities/queued-row.entity';

/** A mail waiting in the durable queue (written in the request's transaction), or its record once sent. */
@Entity('mail_outbox')
export class QueuedMail extends QueuedRow {
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

  /** Set when the mail was given up (its link expired first). */
  @Column({ name: 'failed_at', type: 'timestamptz', nullable: true })
  failedAt: Date | null;
}
