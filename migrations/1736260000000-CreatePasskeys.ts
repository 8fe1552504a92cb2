import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Passkeys (#16, WebAuthn): a passkey is a factor of `mfa_factors` (factor_type `webauthn`, verified
 * when registered) with its credential: the credential id (unique: one account per authenticator
 * key), the COSE public key, the signature counter last seen, the transports the browser reported
 * and when it was last used. A TOTP factor keeps its sealed secret; a passkey has none. The
 * challenges of registrations and assertions are rows of `webauthn_challenges`: single-use (deleted
 * when answered), short-lived, and bound to the user (and session) they were made for.
 */
export class CreatePasskeys1736260000000 implements MigrationInterface {
  name = 'CreatePasskeys1736260000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE mfa_factors DROP CONSTRAINT mfa_factors_type`);
    await queryRunner.query(`ALTER TABLE mfa_factors ADD CONSTRAINT mfa_factors_type CHECK (factor_type IN ('totp', 'webauthn'))`);
    await queryRunner.query(`ALTER TABLE mfa_factors ALTER COLUMN secret DROP NOT NULL`);
    await queryRunner.query(`
      ALTER TABLE mfa_factors
        ADD COLUMN credential_id  bytea,
        ADD COLUMN public_key     bytea,
        ADD COLUMN sign_count     bigint,
        ADD COLUMN transports     text[],
        ADD COLUMN last_used_at   timestamptz,
        ADD CONSTRAINT mfa_factors_material CHECK (
          (factor_type = 'totp' AND secret IS NOT NULL) OR
          (factor_type = 'webauthn' AND credential_id IS NOT NULL AND public_key IS NOT NULL AND sign_count IS NOT NULL))`);
    await queryRunner.query(`CREATE UNIQUE INDEX mfa_factors_credential_id ON mfa_factors (credential_id) WHERE credential_id IS NOT NULL`);
    await queryRunner.query(`
      CREATE TABLE webauthn_challenges (
        id          uuid         PRIMARY KEY,
        purpose     varchar(16)  NOT NULL,
        challenge   varchar(128) NOT NULL,
        user_id     uuid         REFERENCES users (id) ON DELETE CASCADE,
        session_id  uuid,
        expires_at  timestamptz  NOT NULL,
        CONSTRAINT webauthn_challenges_purpose CHECK (purpose IN ('register', 'sign_in', 'second_factor'))
      )`);
    await queryRunner.query(`CREATE INDEX webauthn_challenges_expires_at ON webauthn_challenges (expires_at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE webauthn_challenges`);
    await queryRunner.query(`DELETE FROM mfa_factors WHERE factor_type = 'webauthn'`);
    await queryRunner.query(`DROP INDEX mfa_factors_credential_id`);
    await queryRunner.query(`ALTER TABLE mfa_factors DROP CONSTRAINT mfa_factors_material`);
    await queryRunner.query(`ALTER TABLE mfa_factors DROP COLUMN credential_id, DROP COLUMN public_key, DROP COLUMN sign_count, DROP COLUMN transports, DROP COLUMN last_used_at`);
    await queryRunner.query(`ALTER TABLE mfa_factors ALTER COLUMN secret SET NOT NULL`);
    await queryRunner.query(`ALTER TABLE mfa_factors DROP CONSTRAINT mfa_factors_type`);
    await queryRunner.query(`ALTER TABLE mfa_factors ADD CONSTRAINT mfa_factors_type CHECK (factor_type IN ('totp'))`);
  }
}
