import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { Audit } from '../common/decorators/audit.decorator';
import { PgNotifications } from '../database/pg-notifications';
import { queryPrepared } from '../database/prepared';
import { EVENT_ORDER_LOCK, OUTBOX_CHANNEL } from '../events/events.service';
import { currentTraceparent } from '../tracing/trace-context';
import type { Assurance } from './access-token';
import type { TokenSubject } from './tokens.service';

export interface RotatedToken {
  familyId: string;
  expiresAt: Date;
  /** The user, as the successor's access token names them. */
  subject: TokenSubject;
  /** The session's, kept from its start (or its step-up). */
  assurance: Assurance;
}

export interface SessionRow {
  id: string;
  description: string;
  created_at: Date;
  expires_at: Date;
}

/**
 * The refresh-token store. A token is alive while it is unused, unrevoked and unexpired, its user is
 * enabled, and it was issued after the user's last revocation (`users.tokens_revoked_at`).
 *
 * Lock order, everywhere: the user row first, then its tokens. Issuing and rotating take the user row
 * FOR SHARE (sessions of one user go on side by side); every revocation takes it FOR UPDATE and only
 * then revokes, so a revoking statement sees every token that a rotation committed before it.
 */
@Injectable()
export class RefreshTokensRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly notifications: PgNotifications,
  ) {}

  /**
   * Starts a session: its first refresh token. The user row is taken first (FOR SHARE, as rotate does),
   * and the row is dated by the clock at that moment, so that it orders with `tokens_revoked_at`
   * (set under the user row's FOR UPDATE) as the locks did. False when the user is not enabled (any more).
   */
  async insertFamilyHead(manager: EntityManager, token: { id: string; userId: string; hash: Buffer; description: string; ttlMs: number; assurance: Assurance }): Promise<boolean> {
    const inserted = await manager.query<unknown[]>(
      `WITH owner AS (SELECT id FROM users WHERE id = $2 AND status = 'enabled' FOR SHARE)
       INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, description, created_at, expires_at, aal, amr)
       SELECT $1, $1, id, $3, $4, clock_timestamp(), now() + $5 * interval '1 millisecond', $6, $7::jsonb FROM owner
       RETURNING id`,
      [token.id, token.userId, token.hash, token.description, token.ttlMs, token.assurance.aal, JSON.stringify(token.assurance.amr)],
    );
    return inserted.length > 0;
  }

  /**
   * Spends a live token, inserts its successor in the same family and records the user.refresh_token
   * event, in one statement (the refresh is the hottest write): the `used_at IS NULL` condition is
   * the reuse check, so two replicas cannot both spend one token. The event is written as
   * EventsService.record writes one, under the same per-user lock.
   *
   * The `owner` CTE takes the user row FOR SHARE before the UPDATE touches the token row: a rotation
   * either commits before a revocation (whose statement then sees the successor) or waits for it and
   * finds its token revoked, so no successor outlives "log out everywhere"; and no rotation holds a
   * token row while it waits for the user row (the deadlock with a password reset). The successor is
   * dated by the clock under that lock, like `tokens_revoked_at` under the revocation's. The relay's
   * NOTIFY follows the commit, coalesced with those of other rotations (PgNotifications.notifySoon).
   */
  async rotate(
    spent: { id: string; hash: Buffer },
    successor: { id: string; hash: Buffer; ttlMs: number },
    event: { id: string; audit: Audit },
  ): Promise<RotatedToken | undefined> {
    const [row] = await queryPrepared<{ family_id: string; expires_at: Date; user_id: string; role: TokenSubject['role']; verified: boolean; email: string; metadata: Record<string, unknown>; auth_provider: string | null; aal: Assurance['aal']; amr: Assurance['amr'] }>(
      this.dataSource,
      'refresh_tokens_rotate',
      `WITH owner AS (
         SELECT id, role, status, verified_at, tokens_revoked_at, email, metadata, auth_provider FROM users
         WHERE id = (SELECT user_id FROM refresh_tokens WHERE id = $1)
         FOR SHARE
       ), spent AS (
         UPDATE refresh_tokens rt SET used_at = now()
         FROM owner u
         WHERE rt.id = $1 AND rt.token_hash = $2
           AND rt.used_at IS NULL AND rt.revoked_at IS NULL AND rt.expires_at > now()
           AND u.id = rt.user_id AND u.status = 'enabled'
           AND (u.tokens_revoked_at IS NULL OR rt.created_at > u.tokens_revoked_at)
         RETURNING rt.family_id, rt.user_id, rt.description, rt.aal, rt.amr, u.role, u.verified_at IS NOT NULL AS verified, u.email, u.metadata, u.auth_provider
       ), successor AS (
         INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, description, created_at, expires_at, aal, amr)
         SELECT $3, family_id, user_id, $4, description, clock_timestamp(), now() + $5 * interval '1 millisecond', aal, amr FROM spent
         RETURNING family_id, expires_at
       ), event AS (
         INSERT INTO outbox_events (id, user_id, operation, actor_id, request_id, data, trace_context)
         SELECT $6::uuid, user_id, 'user.refresh_token', user_id, $7, jsonb_build_object('session_id', family_id), $9
         FROM spent, LATERAL (SELECT pg_advisory_xact_lock($8, hashtext(user_id::text))) AS per_user_order
       )
       SELECT successor.family_id, successor.expires_at, spent.user_id, spent.role, spent.verified, spent.email, spent.metadata, spent.auth_provider, spent.aal, spent.amr
       FROM successor JOIN spent USING (family_id)`,
      [spent.id, spent.hash, successor.id, successor.hash, successor.ttlMs, event.id, event.audit.requestId, EVENT_ORDER_LOCK, currentTraceparent()],
    );
    if (row) this.notifications.notifySoon(OUTBOX_CHANNEL);
    return (
      row && {
        familyId: row.family_id,
        expiresAt: row.expires_at,
        subject: { id: row.user_id, role: row.role, verified: row.verified, email: row.email, metadata: row.metadata, authProvider: row.auth_provider },
        assurance: { aal: row.aal, amr: row.amr },
      }
    );
  }

  /**
   * When this token was already spent, revokes its whole family (in the caller's transaction, with
   * the user row locked first); the user and session when that happened.
   */
  async revokeFamilyOfSpentToken(manager: EntityManager, token: { id: string; hash: Buffer }): Promise<{ userId: string; familyId: string } | undefined> {
    return this.revokeFamilyOfToken(manager, token, 'AND used_at IS NOT NULL');
  }

  /** Revokes the whole session a refresh token belongs to (user row locked first); its user and session when there was one to revoke. */
  revokeFamilyOf(manager: EntityManager, token: { id: string; hash: Buffer }): Promise<{ userId: string; familyId: string } | undefined> {
    return this.revokeFamilyOfToken(manager, token, '');
  }

  private async revokeFamilyOfToken(manager: EntityManager, token: { id: string; hash: Buffer }, condition: string): Promise<{ userId: string; familyId: string } | undefined> {
    const [found] = await manager.query<{ user_id: string; family_id: string }[]>(
      `SELECT user_id, family_id FROM refresh_tokens WHERE id = $1 AND token_hash = $2 ${condition}`,
      [token.id, token.hash],
    );
    if (!found) return undefined;
    await this.lockUser(manager, found.user_id);
    const revoked = await this.updated(
      `UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL`,
      [found.family_id],
      manager,
    );
    return revoked ? { userId: found.user_id, familyId: found.family_id } : undefined;
  }

  /**
   * Locks the user row FOR UPDATE in the caller's transaction: the first step of every revocation
   * (see rotate). The revoking statements that follow take their snapshot after the lock, so they
   * see every successor that a rotation committed before it.
   */
  private async lockUser(manager: EntityManager, userId: string): Promise<void> {
    await manager.query(`SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, [userId]);
  }

  /** The user's live sessions: one row per family, dated from the login that started it. */
  listSessions(userId: string): Promise<SessionRow[]> {
    return this.dataSource.query(
      `SELECT rt.family_id AS id, rt.description, head.created_at, rt.expires_at
       FROM refresh_tokens rt
       JOIN refresh_tokens head ON head.id = rt.family_id
       JOIN users u ON u.id = rt.user_id
       WHERE rt.user_id = $1 AND rt.used_at IS NULL AND rt.revoked_at IS NULL AND rt.expires_at > now()
         AND (u.tokens_revoked_at IS NULL OR rt.created_at > u.tokens_revoked_at)
       ORDER BY head.created_at DESC`,
      [userId],
    );
  }

  /** Revokes one of the user's sessions (user row locked first); false when the user has no such live session. */
  async revokeFamily(manager: EntityManager, userId: string, familyId: string): Promise<boolean> {
    await this.lockUser(manager, userId);
    return this.updated(
      `UPDATE refresh_tokens SET revoked_at = now()
       WHERE user_id = $1 AND family_id = $2 AND revoked_at IS NULL AND used_at IS NULL AND expires_at > now()`,
      [userId, familyId],
      manager,
    );
  }

  /** Revokes every session of the user except `keepFamilyId` (when given), with the user row locked first. */
  async revokeAll(userId: string, keepFamilyId: string | undefined, manager: EntityManager): Promise<void> {
    await this.lockUser(manager, userId);
    await manager.query(
      `UPDATE refresh_tokens SET revoked_at = now()
       WHERE user_id = $1 AND revoked_at IS NULL AND family_id IS DISTINCT FROM $2`,
      [userId, keepFamilyId ?? null],
    );
  }

  /** Runs an UPDATE in the caller's transaction; true when it changed a row (TypeORM's plain query() hides the row count). */
  private async updated(sql: string, parameters: unknown[], manager: EntityManager): Promise<boolean> {
    const result = await manager.queryRunner!.query(sql, parameters, true);
    return (result.affected ?? 0) > 0;
  }
}
