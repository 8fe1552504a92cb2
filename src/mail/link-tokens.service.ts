import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AppError } from '../common/errors/app-error';
import { LinkPurpose, LinkToken } from './entities/link-token.entity';

/** `<row id>.<256 random bits, base64url>`, the same shape as a refresh token but never one. */
const LINK_TOKEN = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/;

const hashSecret = (secret: string) => createHash('sha256').update(secret).digest();

/** The single-use tokens of mailed links. Every method runs in the caller's transaction. */
@Injectable()
export class LinkTokensService {
  /** A new token for the user and purpose; it replaces the user's unused tokens of that purpose. */
  async issue(manager: EntityManager, token: { userId: string; purpose: LinkPurpose; email: string; ttlMs: number }): Promise<{ token: string; expiresAt: Date }> {
    await this.revoke(manager, token.userId, [token.purpose]);
    const id = randomUUID();
    const secret = randomBytes(32).toString('base64url');
    const [row] = await manager.query<{ expires_at: Date }[]>(
      `INSERT INTO link_tokens (id, user_id, purpose, token_hash, email, expires_at)
       VALUES ($1, $2, $3, $4, $5, now() + $6 * interval '1 millisecond') RETURNING expires_at`,
      [id, token.userId, token.purpose, hashSecret(secret), token.email, token.ttlMs],
    );
    return { token: `${id}.${secret}`, expiresAt: row.expires_at };
  }

  /**
   * Spends a token of one of `purposes`, or says precisely why it cannot be spent. The token's user
   * row and then the token row are locked (the order every change of a user takes: user, then its
   * tokens), so that two requests with the same link cannot both succeed and none can deadlock.
   * The caller may go on to change the user, whose row it then already holds.
   */
  async consume(manager: EntityManager, presented: string, purposes: LinkPurpose[]): Promise<LinkToken> {
    const match = LINK_TOKEN.exec(presented);
    if (!match) throw new AppError('LINK_TOKEN_INVALID');
    const find = (lock: boolean) => {
      const query = manager.getRepository(LinkToken).createQueryBuilder('t').where('t.id = :id AND t.tokenHash = :hash', { id: match[1], hash: hashSecret(match[2]) });
      return (lock ? query.setLock('pessimistic_write') : query).getOne();
    };
    const found = await find(false);
    if (!found) throw new AppError('LINK_TOKEN_INVALID');
    await manager.query(`SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, [found.userId]);
    const row = await find(true);
    if (!row) throw new AppError('LINK_TOKEN_INVALID');
    if (!purposes.includes(row.purpose)) throw new AppError('LINK_TOKEN_WRONG_TYPE', `this is a ${row.purpose} token`);
    if (row.usedAt) throw new AppError('LINK_TOKEN_USED');
    if (row.expiresAt.getTime() <= Date.now()) throw new AppError('LINK_TOKEN_EXPIRED');
    await manager.update(LinkToken, { id: row.id }, { usedAt: () => 'now()' });
    return row;
  }

  /** Deletes the user's unused tokens of these purposes (a new one replaces them, or they are moot). */
  async revoke(manager: EntityManager, userId: string, purposes: LinkPurpose[]): Promise<void> {
    await manager.query(`DELETE FROM link_tokens WHERE user_id = $1 AND purpose = ANY($2) AND used_at IS NULL`, [userId, purposes]);
  }
}
