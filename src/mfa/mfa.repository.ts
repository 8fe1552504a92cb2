import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';

/** A row of `mfa_factors`; `secret` is sealed (see MfaService). */
export interface FactorRow {
  id: string;
  user_id: string;
  factor_type: 'totp' | 'webauthn';
  friendly_name: string | null;
  status: 'unverified' | 'verified';
  /** A TOTP factor's sealed secret; null for a passkey (see PasskeysRepository). */
  secret: Buffer | null;
  last_used_step: string | null;
  created_at: Date;
  updated_at: Date;
  verified_at: Date | null;
  /** When a passkey was last used (null for TOTP factors). */
  last_used_at: Date | null;
}

/** An enrolment not verified within a day is abandoned: the scheduler's cleanup removes it. */
export const ABANDONED_ENROLMENT_MS = 24 * 60 * 60 * 1000;

export const FACTOR_COLUMNS = 'id, user_id, factor_type, friendly_name, status, secret, last_used_step, created_at, updated_at, verified_at, last_used_at';

/** The factors and recovery codes of users (#16), and the `users.mfa_enabled` flag that follows them. */
@Injectable()
export class MfaRepository {
  constructor(private readonly dataSource: DataSource) {}

  listFactors(userId: string, manager: EntityManager = this.dataSource.manager): Promise<FactorRow[]> {
    return manager.query(`SELECT ${FACTOR_COLUMNS} FROM mfa_factors WHERE user_id = $1 ORDER BY created_at, id`, [userId]);
  }

  async userExists(userId: string): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(`SELECT 1 FROM users WHERE id = $1`, [userId]);
    return rows.length > 0;
  }

  async findFactor(userId: string, factorId: string, manager: EntityManager = this.dataSource.manager): Promise<FactorRow | undefined> {
    const [row] = await manager.query<FactorRow[]>(`SELECT ${FACTOR_COLUMNS} FROM mfa_factors WHERE id = $1 AND user_id = $2`, [factorId, userId]);
    return row;
  }

  /** Locks the user row (FOR UPDATE): factor changes of one user take turns, so that a count or a flag is never stale. */
  async lockUser(manager: EntityManager, userId: string): Promise<void> {
    await manager.query(`SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, [userId]);
  }

  async insertFactor(manager: EntityManager, factor: { id: string; userId: string; friendlyName: string | null; secret: Buffer }): Promise<FactorRow> {
    const [row] = await manager.query<FactorRow[]>(
      `INSERT INTO mfa_factors (id, user_id, friendly_name, secret) VALUES ($1, $2, $3, $4) RETURNING ${FACTOR_COLUMNS}`,
      [factor.id, factor.userId, factor.friendlyName, factor.secret],
    );
    return row;
  }

  async rename(manager: EntityManager, userId: string, factorId: string, friendlyName: string): Promise<FactorRow | undefined> {
    const [rows] = await manager.query<[FactorRow[], number]>(
      `UPDATE mfa_factors SET friendly_name = $3, updated_at = now() WHERE id = $1 AND user_id = $2 RETURNING ${FACTOR_COLUMNS}`,
      [factorId, userId, friendlyName],
    );
    return rows[0];
  }

  async deleteFactor(manager: EntityManager, userId: string, factorId: string): Promise<FactorRow | undefined> {
    const [rows] = await manager.query<[FactorRow[], number]>(`DELETE FROM mfa_factors WHERE id = $1 AND user_id = $2 RETURNING ${FACTOR_COLUMNS}`, [factorId, userId]);
    return rows[0];
  }

  /**
   * Spends time step `step` of a factor, and verifies it if it was not yet: only a step later than the
   * last one spent is accepted (one atomic UPDATE), so that a code works once, also when two requests
   * bring it at the same moment. The factor's status before, or undefined when the step is spent.
   */
  async spendStep(userId: string, factorId: string, step: number): Promise<{ previous: FactorRow['status'] } | undefined> {
    // (an UPDATE's answer through TypeORM is [rows, count])
    const [rows] = await this.dataSource.query<[{ previous: FactorRow['status'] }[], number]>(
      `WITH before AS (SELECT id, status FROM mfa_factors WHERE id = $1 AND user_id = $2)
       UPDATE mfa_factors f SET last_used_step = $3, status = 'verified', verified_at = COALESCE(f.verified_at, now()), updated_at = now()
       FROM before
       WHERE f.id = before.id AND (f.last_used_step IS NULL OR f.last_used_step < $3)
       RETURNING before.status AS previous`,
      [factorId, userId, step],
    );
    return rows[0];
  }

  /** Sets `users.mfa_enabled` from the factors (in the caller's transaction); what it is now. */
  async refreshFlag(manager: EntityManager, userId: string): Promise<boolean> {
    const [rows] = await manager.query<[{ mfa_enabled: boolean }[], number]>(
      `UPDATE users SET mfa_enabled = EXISTS (SELECT 1 FROM mfa_factors WHERE user_id = $1 AND status = 'verified') WHERE id = $1 RETURNING mfa_enabled`,
      [userId],
    );
    return rows[0]?.mfa_enabled ?? false;
  }

  async unusedRecoveryCodes(userId: string, manager: EntityManager = this.dataSource.manager): Promise<number> {
    const [{ n }] = await manager.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL`, [userId]);
    return n;
  }

  /** Replaces the user's recovery codes by these hashes. */
  async replaceRecoveryCodes(manager: EntityManager, userId: string, hashes: Buffer[]): Promise<void> {
    await manager.query(`DELETE FROM mfa_recovery_codes WHERE user_id = $1`, [userId]);
    if (hashes.length > 0) await manager.query(`INSERT INTO mfa_recovery_codes (user_id, code_hash) SELECT $1, unnest($2::bytea[])`, [userId, hashes]);
  }

  /** Spends an unused code whose hash is one of `hashes` (one atomic UPDATE); whether one was. */
  async spendRecoveryCode(manager: EntityManager, userId: string, hashes: Buffer[]): Promise<boolean> {
    const [rows] = await manager.query<[unknown[], number]>(
      `UPDATE mfa_recovery_codes SET used_at = now()
       WHERE ctid = (SELECT ctid FROM mfa_recovery_codes WHERE user_id = $1 AND code_hash = ANY($2::bytea[]) AND used_at IS NULL LIMIT 1 FOR UPDATE)
       RETURNING 1`,
      [userId, hashes],
    );
    return rows.length > 0;
  }
}
