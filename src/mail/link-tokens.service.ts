import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AppError } from '../common/errors/app-error';
import { newOpaqueToken, parseOpaqueToken } from '../common/utils/opaque-token';
import { LinkPurpose, LinkToken } from './entities/link-token.entity';

/**
 * The single-use tokens of mailed links, of the refresh tokens' shape but never one (they live in
 * another table). Every method runs in the caller's transaction.
 */
@Injectable()
export class LinkTokensService {
  /** A new token for the user and purpose; it replaces the user's unused tokens of that purpose. */
  async issue(manager: EntityManager, token: { userId: string; purpose: LinkPurpose; email: string; ttlMs: number }): Promise<{ token: string; expiresAt: Date }> {
    await this.revoke(manager, token.userId, [token.purpose]);
    const issued = newOpaqueToken();
    const [row] = await manager.query<{ expires_at: Date }[]>(
      `INSERT INTO link_tokens (id, user_id, purpose, token_hash, email, expires_at)
       VALUES ($1, $2, $3, $4, $5, now() + $6 * interval '1 millisecond') RETURNING expires_at`,
      [issued.id, token.userId, token.purpose, issued.hash, token.email, token.ttlMs],
    );
    return { token: issued.token, expiresAt: row.expires_at };
  }

  /**
   * Spends a token of one of `purposes`, or says precisely why it cannot be spent. The token's user
   * row and then the token row are locked (the order every change of a user takes: user, then its
   * tokens), so that two requests with the same link cannot both succeed and none can deadlock.
   * The caller may go on to change the user, whose row it then already holds.
   */
  async consume(manager: EntityManager, presented: string, purposes: LinkPurpose[]): Promise<LinkToken> {
    const found = await this.find(manager, presented, false);
    await manager.query(`SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, [found.userId]);
    const row = spendable(await this.find(manager, presented, true), purposes);
    await manager.update(LinkToken, { id: row.id }, { usedAt: () => 'now()' });
    return row;
  }

  /**
   * Throws what consume would throw for this token now, locking nothing: a check before costly work
   * that must not wait inside the transaction (hashing the new password), which consume repeats.
   * Returns the token as it is now (whose user and address the new password is checked against).
   */
  async check(manager: EntityManager, presented: string, purposes: LinkPurpose[]): Promise<LinkToken> {
    return spendable(await this.find(manager, presented, false), purposes);
  }

  private async find(manager: EntityManager, presented: string, lock: boolean): Promise<LinkToken> {
    const parsed = parseOpaqueToken(presented);
    if (!parsed) throw new AppError('LINK_TOKEN_INVALID');
    const query = manager.getRepository(LinkToken).createQueryBuilder('t').where('t.id = :id AND t.tokenHash = :hash', parsed);
    const row = await (lock ? query.setLock('pessimistic_write') : query).getOne();
    if (!row) throw new AppError('LINK_TOKEN_INVALID');
    return row;
  }

  /** Deletes the user's unused tokens of these purposes (a new one replaces them, or they are moot). */
  async revoke(manager: EntityManager, userId: string, purposes: LinkPurpose[]): Promise<void> {
    await manager.query(`DELETE FROM link_tokens WHERE user_id = $1 AND purpose = ANY($2) AND used_at IS NULL`, [userId, purposes]);
  }
}

/** The token if it can be spent for one of `purposes`, else the precise reason why not. */
function spendable(row: LinkToken, purposes: LinkPurpose[]): LinkToken {
  if (!purposes.includes(row.purpose)) throw new AppError('LINK_TOKEN_WRONG_TYPE', `this is a ${row.purpose} token`);
  if (row.usedAt) throw new AppError('LINK_TOKEN_USED');
  if (row.expiresAt.getTime() <= Date.now()) throw new AppError('LINK_TOKEN_EXPIRED');
  return row;
}
