import { Column, Entity, PrimaryColumn } from 'typeorm';

export type LinkPurpose = 'verification' | 'recovery' | 'invite';

/** A single-use token sent by mail in a link: e-mail verification, password recovery or invitation. */
@Entity('link_tokens')
export class LinkToken {
  @PrimaryColumn('uuid')
  id: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ type: 'varchar' })
  purpose: LinkPurpose;

  /** SHA-256 of the token's 256-bit secret part. */
  @Column({ name: 'token_hash', type: 'bytea' })
  tokenHash: Buffer;

  /** The address the link was sent to; the token is worthless once the user's address changes. */
  @Column({ type: 'varchar' })
  email: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'used_at', type: 'timestamptz', nullable: true })
  usedAt: Date | null;
}
