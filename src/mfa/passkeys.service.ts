import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { DataSource, EntityManager } from 'typeorm';
import { Audit } from '../common/decorators/audit.decorator';
import { AppError } from '../common/errors/app-error';
import { mfaConfig } from '../config/mfa.config';
import { EventOperation } from '../events/event-operations';
import { EventsService } from '../events/events.service';
import { User } from '../users/entities/user.entity';
import { FactorRow } from './mfa.repository';
import { ChallengePurpose, PasskeyRow, PasskeysRepository } from './passkeys.repository';

/** A new credential whose attestation verified: what its factor row stores. */
export interface NewCredential {
  credentialId: Buffer;
  publicKey: Buffer;
  signCount: number;
  transports: string[];
}

/** Options for the browser's navigator.credentials (as JSON) and the id of their single-use challenge. */
export interface PasskeyOptions<T> {
  challenge_id: string;
  options: T;
}

/** Who must answer a challenge: its purpose, and the user and session it was made for (when any). */
interface Expected {
  purpose: ChallengePurpose;
  userId?: string;
  sessionId?: string;
}

const uuidBytes = (id: string) => Uint8Array.from(Buffer.from(id.replace(/-/g, ''), 'hex'));

/**
 * Passkeys (#16, WebAuthn with @simplewebauthn/server): registration of a signed-in user's
 * discoverable credential, and the verification of an assertion, either as a first factor (no
 * allowCredentials: the authenticator says whose passkey it is) or as a user's second factor.
 * User verification is required every time: a passkey is then something owned and something known or
 * are (the device's PIN or biometrics), which is why a passkey sign-in is `aal2` (see docs/security.md).
 * Challenges are rows of webauthn_challenges, deleted when answered (single-use), expiring after
 * USERS_MFA_CHALLENGE_DURATION, and bound to the user and session they were made for. The
 * authenticator's signature counter must go up: one that does not is refused and evented
 * (user.passkey_counter_anomaly), as a cloned authenticator would show.
 */
@Injectable()
export class PasskeysService {
  constructor(
    private readonly passkeys: PasskeysRepository,
    private readonly events: EventsService,
    private readonly dataSource: DataSource,
    @Inject(mfaConfig.KEY) private readonly config: ConfigType<typeof mfaConfig>,
  ) {}

  /** Options to make a passkey for `actor`, bound to their session; their passkeys are excluded (one per authenticator). */
  async registrationOptions(actor: User, sessionId: string | undefined): Promise<PasskeyOptions<PublicKeyCredentialCreationOptionsJSON>> {
    const existing = await this.passkeys.passkeysOf(actor.id);
    const options = await generateRegistrationOptions({
      rpName: this.config.webauthn.rpName,
      rpID: this.config.webauthn.rpId,
      userID: uuidBytes(actor.id),
      userName: actor.email,
      userDisplayName: actor.username ?? actor.email,
      timeout: this.config.challengeTtlMs,
      attestationType: 'none',
      excludeCredentials: existing.map((row) => ({ id: row.credential_id.toString('base64url'), transports: row.transports ?? undefined })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    });
    const challengeId = await this.passkeys.createChallenge({ purpose: 'register', challenge: options.challenge, user_id: actor.id, session_id: sessionId ?? null }, this.config.challengeTtlMs);
    return { challenge_id: challengeId, options };
  }

  /** Checks a registration's attestation against its challenge (of this user and session): the new credential. */
  async verifyRegistration(actor: User, sessionId: string | undefined, challengeId: string, response: RegistrationResponseJSON): Promise<NewCredential> {
    const challenge = await this.takeChallenge(challengeId, { purpose: 'register', userId: actor.id, sessionId });
    let info;
    try {
      const verification = await verifyRegistrationResponse({
        response,
        ...this.expectations(challenge),
      });
      info = verification.verified ? verification.registrationInfo : undefined;
    } catch (error) {
      throw new AppError('PASSKEY_INVALID', `the passkey's attestation was refused: ${(error as Error).message}`);
    }
    if (!info) throw new AppError('PASSKEY_INVALID');
    return {
      credentialId: Buffer.from(info.credential.id, 'base64url'),
      publicKey: Buffer.from(info.credential.publicKey),
      signCount: info.credential.counter,
      transports: (info.credential.transports ?? []).map(String),
    };
  }

  /** Stores a verified credential as the user's factor; undefined when it is registered already. */
  insert(manager: EntityManager, passkey: NewCredential & { id: string; userId: string; friendlyName: string | null }): Promise<FactorRow | undefined> {
    return this.passkeys.insertPasskey(manager, passkey);
  }

  /**
   * Options to sign in with a passkey, or to give one as `userId`'s second factor (then only their
   * passkeys are allowed, and the challenge is bound to them and to `sessionId` when stepping up).
   */
  async authenticationOptions(forUser?: { userId: string; sessionId?: string }): Promise<PasskeyOptions<PublicKeyCredentialRequestOptionsJSON>> {
    const allowed = forUser ? await this.passkeys.passkeysOf(forUser.userId) : undefined;
    if (allowed && allowed.length === 0) throw new AppError('MFA_FACTOR_NOT_FOUND', 'you have no passkey');
    const options = await generateAuthenticationOptions({
      rpID: this.config.webauthn.rpId,
      timeout: this.config.challengeTtlMs,
      userVerification: 'required',
      allowCredentials: allowed?.map((row) => ({ id: row.credential_id.toString('base64url'), transports: (row.transports ?? undefined) as never })),
    });
    const challengeId = await this.passkeys.createChallenge(
      { purpose: forUser ? 'second_factor' : 'sign_in', challenge: options.challenge, user_id: forUser?.userId ?? null, session_id: forUser?.sessionId ?? null },
      this.config.challengeTtlMs,
    );
    return { challenge_id: challengeId, options };
  }

  /**
   * Checks an assertion against its challenge: the passkey it was made with (which must be `userId`'s
   * for a second factor), its signature, origin, RP id, user verification, and a counter that went up.
   */
  async verifyAssertion(challengeId: string, response: AuthenticationResponseJSON, expected: Expected, audit: Audit): Promise<PasskeyRow> {
    const challenge = await this.takeChallenge(challengeId, expected);
    const credentialId = typeof response?.rawId === 'string' ? Buffer.from(response.rawId, 'base64url') : undefined;
    const passkey = credentialId && credentialId.length > 0 ? await this.passkeys.findByCredentialId(credentialId) : undefined;
    if (!passkey || (expected.userId !== undefined && passkey.user_id !== expected.userId)) throw new AppError('PASSKEY_UNKNOWN');
    let newCounter: number;
    try {
      const verification = await verifyAuthenticationResponse({
        response,
        ...this.expectations(challenge),
        // The counter is checked below, where a counter that went backwards is evented.
        credential: { id: passkey.credential_id.toString('base64url'), publicKey: Uint8Array.from(passkey.public_key), counter: 0 },
      });
      if (!verification.verified) throw new Error('the signature does not verify');
      newCounter = verification.authenticationInfo.newCounter;
    } catch (error) {
      await this.record(passkey, 'user.mfa_challenge_failed', { factor_id: passkey.id, method: 'webauthn', reason: 'invalid_assertion' }, audit);
      throw new AppError('PASSKEY_INVALID', `the passkey's assertion was refused: ${(error as Error).message}`);
    }
    if (!(await this.passkeys.recordUse(passkey.id, newCounter))) {
      await this.record(passkey, 'user.passkey_counter_anomaly', { factor_id: passkey.id, stored_counter: Number(passkey.sign_count), presented_counter: newCounter }, audit);
      throw new AppError('PASSKEY_INVALID', "the authenticator's signature counter did not go up: this passkey may have been copied; it is refused");
    }
    return passkey;
  }

  /** What every response must show: this challenge, one of our origins, our RP id, and a verified user. */
  private expectations(challenge: string) {
    return { expectedChallenge: challenge, expectedOrigin: this.config.webauthn.origins, expectedRPID: this.config.webauthn.rpId, requireUserVerification: true };
  }

  /** Takes (spends) a challenge: 401 PASSKEY_CHALLENGE_INVALID when unknown, spent, expired, or not for this purpose, user and session. */
  private async takeChallenge(challengeId: string, expected: Expected): Promise<string> {
    const row = /^[0-9a-f-]{36}$/i.test(challengeId) ? await this.passkeys.takeChallenge(challengeId) : undefined;
    if (!row || row.purpose !== expected.purpose || (expected.userId !== undefined && row.user_id !== expected.userId) || (row.session_id ?? undefined) !== expected.sessionId) {
      throw new AppError('PASSKEY_CHALLENGE_INVALID');
    }
    return row.challenge;
  }

  /** An event of a refused passkey, in its own transaction (the refusal rolls nothing back). */
  private async record(passkey: PasskeyRow, operation: EventOperation, data: Record<string, unknown>, audit: Audit): Promise<void> {
    await this.dataSource.transaction((manager) => this.events.record(manager, { operation, userId: passkey.user_id, audit: { ...audit, actorId: audit.actorId ?? passkey.user_id }, data }));
  }
}
