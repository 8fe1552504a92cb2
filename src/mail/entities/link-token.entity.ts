import { Column, Entity } from 'typeorm';
import { HashedToken } from '../../common/entities/hashed-token.entity';

export type LinkPurpose = 'verification' | 'recovery' | 'invite';

/** A single-use token sent by mail in a link: e-mail verification, password recovery or invitation. */
@Entity('link_tokens')
export class LinkToken extends HashedToken {
  @Column({ type: 'varchar' })
  purpose: LinkPurpose;

  /** The address the link was sent to; the token is worthless once the user's address changes. */
  @Column({ type: 'varchar' })
  email: string;
}
