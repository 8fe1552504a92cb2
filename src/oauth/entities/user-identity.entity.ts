import { Column, Entity, PrimaryColumn } from 'typeorm';

/** An external (OAuth) identity linked to a user: the provider's subject signs that user in. */
@Entity('user_identities')
export class UserIdentity {
  @PrimaryColumn({ type: 'varchar' })
  provider: string;

  @PrimaryColumn({ type: 'varchar' })
  subject: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  /** The address the provider gave at the last sign-in. */
  @Column({ type: 'varchar', nullable: true })
  email: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'last_login_at', type: 'timestamptz' })
  lastLoginAt: Date;
}
