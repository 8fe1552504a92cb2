import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export type UserRole = 'user' | 'admin';
export type UserStatus = 'enabled' | 'disabled' | 'deleted';
export const USER_ROLES: UserRole[] = ['user', 'admin'];
export const USER_STATUSES: UserStatus[] = ['enabled', 'disabled', 'deleted'];

/** The `users` table (schema in migrations/). Never returned by a controller: see users.mapper.ts. */
@Entity('users')
export class User {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'first_name', type: 'varchar' })
  firstName: string;

  @Column({ name: 'last_name', type: 'varchar' })
  lastName: string;

  @Column({ type: 'varchar' })
  email: string;

  @Column({ type: 'varchar', nullable: true })
  username: string | null;

  /** argon2id hash; null for users who only sign in through OAuth or have not accepted an invite. */
  @Column({ name: 'password_hash', type: 'text', nullable: true, select: false })
  passwordHash?: string | null;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  tags: string[];

  @Column({ type: 'jsonb', default: () => "'{}'" })
  metadata: Record<string, unknown>;

  @Column({ name: 'private_metadata', type: 'jsonb', default: () => "'{}'" })
  privateMetadata: Record<string, unknown>;

  @Column({ name: 'profile_picture', type: 'text', nullable: true })
  profilePicture: string | null;

  @Column({ type: 'varchar', default: 'user' })
  role: UserRole;

  @Column({ type: 'varchar', default: 'enabled' })
  status: UserStatus;

  @Column({ name: 'auth_provider', type: 'varchar', nullable: true })
  authProvider: string | null;

  @Column({ name: 'user_type', type: 'varchar', nullable: true })
  userType: string | null;

  @Column({ name: 'verified_at', type: 'timestamptz', nullable: true })
  verifiedAt: Date | null;

  /** Access tokens issued before this instant are refused (password reset, disable, delete). */
  @Column({ name: 'tokens_revoked_at', type: 'timestamptz', nullable: true })
  tokensRevokedAt: Date | null;

  /** Whether the user has a verified second factor (kept by MfaService with the factors, #16). */
  @Column({ name: 'mfa_enabled', type: 'boolean', default: false })
  mfaEnabled: boolean;

  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true })
  deletedAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @Column({ name: 'updated_by', type: 'uuid', nullable: true })
  updatedBy: string | null;
}
