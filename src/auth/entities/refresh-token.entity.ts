import { Column, Entity } from 'typeorm';
import { HashedToken } from '../../common/entities/hashed-token.entity';

/** One issued refresh token. A login starts a family (a session); each rotation adds its successor. */
@Entity('refresh_tokens')
export class RefreshToken extends HashedToken {
  @Column({ name: 'family_id', type: 'uuid' })
  familyId: string;

  @Column({ type: 'varchar' })
  description: string;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;
}
