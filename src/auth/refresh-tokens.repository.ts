import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { Audit } from '../common/decorators/audit.decorator';
import { queryPrepared } from '../database/prepared';
import { EVENT_ORDER_LOCK, OUTBOX_CHANNEL } from '../events/events.service';
import { UserRole } from '../users/entities/user.entity';

export interface RotatedToken {
  familyId: string;
  expiresAt: Date;
  userId: string;
  role: UserRole;
  verified: boolean;
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
 */
@Injectable()
export class RefreshTokensRepository {
  constructor(private readonly dataSource: DataSource) {}

  async insertFamilyHead(manager: EntityManager, token: { id: string; userId: string; hash: Buffer; description: string; ttlMs: number }): Promise<void> {
    await manager.query(
      `INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, description, expires_at)
       VALUES ($1, $1, $2, $3, $4, now() + $5 * interval '1 millisecond')`,
      [token.id, token.userId, token.hash, token.description, token.ttlMs],
    );
  }

  /**
   * Spends a live token, inserts its successor in the same family and records the user.refresh_token
   * event, in one statement (the refresh is the hottest write): the `used_at IS NULL` condition is
   * the reuse check, so two replicas cannot both spend one token. The event is written as
   * EventsService.record writes one, under the same per-user lock.
   */
  async rotate(
    spent: { id: string; hash: Buffer },
    successor: { id: string; hash: Buffer; ttlMs: number },
    event: { id: string; audit: Audit },
  ): Promise<RotatedToken | undefined> {
    const [row] = await queryPrepared<{ family_id: string; expires_at: Date; user_id: string; role: UserRole; verified: boolean }>(
      this.dataSource,
      'refresh_tokens_rotate',
      `WITH spent AS (
         UPDATE refresh_tokens rt SET used_at = now()
         FROM users u
         WHERE rt.id = $1 AND rt.token_hash = $2
           AND rt.used_at IS NULL AND rt.revoked_at IS NULL AND rt.expires_at > now()
           AND u.id = rt.user_id AND u.status = 'enabled'
           AND (u.tokens_revoked_at IS NULL OR rt.created_at > u.tokens_revoked_at)
         RETURNING rt.family_id, rt.user_id, rt.description, u.role, u.verified_at IS NOT NULL AS verified
       ), successor AS (
         INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, description, expires_at)
         SELECT $3, family_id, user_id, $4, description, now() + $5 * interval '1 millisecond' FROM spent
         RETURNING family_id, expires_at
       ), event AS (
         INSERT INTO outbox_events (id, user_id, operation, actor_id, request_id, data)
         SELECT $6::uuid, user_id, 'user.refresh_token', user_id, $7, jsonb_build_object('session_id', family_id)
         FROM spent, LATERAL (SELECT pg_advisory_xact_lock($8, hashtext(user_id::text)), pg_notify($9, '')) AS per_user_order
       )
       SELECT successor.family_id, successor.expires_at, spent.user_id, spent.role, spent.verified
       FROM successor JOIN spent USING (family_id)`,
      [spent.id, spent.hash, successor.id, successor.hash, successor.ttlMs, event.id, event.audit.requestId, EVENT_ORDER_LOCK, OUTBOX_CHANNEL],
    );
    return row && { familyId: row.family_id, expiresAt: row.expires_at, userId: row.user_id, role: row.role, verified: row.verified };
  }

  /** When this token was already spent, revokes its whole family; true if that happened. */
  async revokeFamilyOfSpentToken(token: { id: string; hash: Buffer }): Promise<boolean> {
    return this.updated(
      `UPDATE refresh_tokens SET revoked_at = now()
       WHERE revoked_at IS NULL AND family_id = (
         SELECT family_id FROM refresh_tokens WHERE id = $1 AND token_hash = $2 AND used_at IS NOT NULL
       )`,
      [token.id, token.hash],
    );
  }

  /** Revokes the whole session a refresh token belongs to; its user and session when there was one to revoke. */
  async revokeFamilyOf(manager: EntityManager, token: { id: string; hash: Buffer }): Promise<{ userId: string; familyId: string } | undefined> {
    const result = await manager.queryRunner!.query(
      `UPDATE refresh_tokens SET revoked_at = now()
       WHERE revoked_at IS NULL AND family_id = (SELECT family_id FROM refresh_tokens WHERE id = $1 AND token_hash = $2)
       RETURNING user_id, family_id`,
      [token.id, token.hash],
      true,
    );
    const [row] = result.records as { user_id: string; family_id: string }[];
    return row && { userId: row.user_id, familyId: row.family_id };
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

  /** Revokes one of the user's sessions; false when the user has no such live session. */
  async revokeFamily(manager: EntityManager, userId: string, familyId: string): Promise<boolean> {
    return this.updated(
      `UPDATE refresh_tokens SET revoked_at = now()
       WHERE user_id = $1 AND family_id = $2 AND revoked_at IS NULL AND used_at IS NULL AND expires_at > now()`,
      [userId, familyId],
      manager,
    );
  }

  /** Runs an UPDATE; true when it changed a row (TypeORM's plain query() hides the row count). */
  private async updated(sql: string, parameters: unknown[], manager?: EntityManager): Promise<boolean> {
    const runner = manager?.queryRunner ?? this.dataSource.createQueryRunner();
    try {
      const result = await runner.query(sql, parameters, true);
      return (result.affected ?? 0) > 0;
    } finally {
      if (!manager) await runner.release();
    }
  }

  /** Revokes every session of the user except `keepFamilyId` (when given). */
  async revokeAll(userId: string, keepFamilyId?: string, manager: EntityManager = this.dataSource.manager): Promise<void> {
    await manager.query(
      `UPDATE refresh_tokens SET revoked_at = now()
       WHERE user_id = $1 AND revoked_at IS NULL AND family_id IS DISTINCT FROM $2`,
      [userId, keepFamilyId ?? null],
    );
  }
}
