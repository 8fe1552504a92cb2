import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { FACTOR_COLUMNS, FactorRow } from './mfa.repository';

/** What a WebAuthn challenge is for: a registration, a first-factor sign-in, or a second factor. */
export type ChallengePurpose = 'register' | 'sign_in' | 'second_factor';

export interface ChallengeRow {
  id: string;
  purpose: ChallengePurpose;
  challenge: string;
  user_id: string | null;
  session_id: string | null;
  expires_at: Date;
}

/** A passkey's factor row with its user's id. */
export type PasskeyRow = FactorRow & { credential_id: Buffer; public_key: Buffer; sign_count: string; transports: string[] | null };

/** Passkeys (`mfa_factors` of type webauthn) and the single-use challenges of `webauthn_challenges` (#16). */
@Injectable()
export class PasskeysRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Stores a challenge (and drops the expired ones, so the table stays small); its id. */
  async createChallenge(challenge: Omit<ChallengeRow, 'id' | 'expires_at'>, ttlMs: number): Promise<string> {
    const id = randomUUID();
    await this.dataSource.query(`DELETE FROM webauthn_challenges WHERE expires_at < now()`);
    await this.dataSource.query(
      `INSERT INTO webauthn_challenges (id, purpose, challenge, user_id, session_id, expires_at) VALUES ($1, $2, $3, $4, $5, now() + $6 * interval '1 millisecond')`,
      [id, challenge.purpose, challenge.challenge, challenge.user_id, challenge.session_id, ttlMs],
    );
    return id;
  }

  /** Takes a challenge (deleted: it works once), if it is unexpired. */
  async takeChallenge(id: string): Promise<ChallengeRow | undefined> {
    const [rows] = await this.dataSource.query<[ChallengeRow[], number]>(
      `DELETE FROM webauthn_challenges WHERE id = $1 RETURNING id, purpose, challenge, user_id, session_id, expires_at, expires_at > now() AS fresh`,
      [id],
    );
    const row = rows[0] as (ChallengeRow & { fresh: boolean }) | undefined;
    return row?.fresh ? row : undefined;
  }

  passkeysOf(userId: string, manager: EntityManager = this.dataSource.manager): Promise<PasskeyRow[]> {
    return manager.query(`SELECT ${PASSKEY_COLUMNS} FROM mfa_factors WHERE user_id = $1 AND factor_type = 'webauthn' ORDER BY created_at, id`, [userId]);
  }

  async findByCredentialId(credentialId: Buffer): Promise<PasskeyRow | undefined> {
    const [row] = await this.dataSource.query<PasskeyRow[]>(`SELECT ${PASSKEY_COLUMNS} FROM mfa_factors WHERE credential_id = $1 AND factor_type = 'webauthn'`, [credentialId]);
    return row;
  }

  /** A verified passkey factor; undefined when the credential id is registered already (to anyone). */
  async insertPasskey(
    manager: EntityManager,
    passkey: { id: string; userId: string; friendlyName: string | null; credentialId: Buffer; publicKey: Buffer; signCount: number; transports: string[] },
  ): Promise<FactorRow | undefined> {
    const [row] = await manager.query<FactorRow[]>(
      `INSERT INTO mfa_factors (id, user_id, factor_type, friendly_name, status, verified_at, credential_id, public_key, sign_count, transports)
       VALUES ($1, $2, 'webauthn', $3, 'verified', now(), $4, $5, $6, $7)
       ON CONFLICT (credential_id) WHERE credential_id IS NOT NULL DO NOTHING
       RETURNING ${FACTOR_COLUMNS}`,
      [passkey.id, passkey.userId, passkey.friendlyName, passkey.credentialId, passkey.publicKey, passkey.signCount, passkey.transports],
    );
    return row;
  }

  /**
   * Records a use of the passkey with the authenticator's new signature counter: only if the counter
   * went up (or stays 0, an authenticator without one), in one atomic UPDATE, so that two assertions
   * racing with the same counter cannot both pass. Whether it was recorded.
   */
  async recordUse(factorId: string, signCount: number): Promise<boolean> {
    const [rows] = await this.dataSource.query<[unknown[], number]>(
      `UPDATE mfa_factors SET sign_count = $2, last_used_at = now(), updated_at = now()
       WHERE id = $1 AND (sign_count < $2 OR (sign_count = 0 AND $2 = 0)) RETURNING 1`,
      [factorId, signCount],
    );
    return rows.length > 0;
  }
}

const PASSKEY_COLUMNS = `${FACTOR_COLUMNS}, credential_id, public_key, sign_count, transports`;
