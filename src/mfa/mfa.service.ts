import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Secret, TOTP } from 'otpauth';
import { toString as qrCode } from 'qrcode';
import { RateLimiterAbstract } from 'rate-limiter-flexible';
import { DataSource, EntityManager } from 'typeorm';
import type { AuthenticationResponseJSON, PublicKeyCredentialCreationOptionsJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { Assurance } from '../auth/access-token';
import { Audit } from '../common/decorators/audit.decorator';
import { AppError } from '../common/errors/app-error';
import { SealedBox, UnopenableBoxError } from '../common/utils/sealed-box';
import { authConfig } from '../config/auth.config';
import { mfaConfig } from '../config/mfa.config';
import { rateLimitConfig } from '../config/rate-limit.config';
import { EventsService } from '../events/events.service';
import { RateLimitStore } from '../rate-limit/rate-limit-store.service';
import { RateLimitedError } from '../rate-limit/rate-limit.guard';
import { User } from '../users/entities/user.entity';
import { EnrolledFactorDto, FactorDto, MfaChallengeDto, RecoveryCodesDto, RegisteredPasskeyDto } from './dto/mfa.dto';
import { PasskeyOptions } from './passkeys.service';
import { MfaPolicy } from './mfa-policy.service';
import { FactorRow, MfaRepository } from './mfa.repository';
import { PasskeysService } from './passkeys.service';
import { RecoveryCodeHasher } from './recovery-codes';

/** RFC 6238's parameters that every authenticator app supports: SHA-1, six digits, 30-second steps. */
const TOTP_PERIOD = 30;
const TOTP_DIGITS = 6;
/** Codes of the step before and after the current one are accepted too (clock drift of the phone). */
const TOTP_WINDOW = 1;
/** Factors (verified or not) a user may have at once. */
const MAX_FACTORS = 10;
/** The counter of second-factor attempts (USERS_MFA_VERIFY_RATE), per factor and per user's recovery codes. */
const MFA_VERIFY_LIMIT = 'mfa-verify';

/** How a second factor was given: the `amr` method. */
export type SecondFactorMethod = 'totp' | 'recovery' | 'webauthn';

/** What a second factor answers: `totp`, `webauthn` or `recovery`, and the recovery codes made by a factor's first verification. */
export interface SecondFactor {
  method: SecondFactorMethod;
  factorId?: string;
  recoveryCodes?: string[];
}

/** A second factor as a request gives it: a factor's code, a passkey's assertion (with its challenge), or a recovery code. */
export interface SecondFactorInput {
  factor_id?: string;
  code?: string;
  recovery_code?: string;
  challenge_id?: string;
  webauthn?: AuthenticationResponseJSON;
}

/** A login's pending second step (sealed in `mfa_token`): after a password, or a native OAuth sign-in. */
interface SealedLoginChallenge {
  kind: 'login';
  userId: string;
  /** When the first factor was given (seconds): the first entry of the session's amr. */
  passwordAt: number;
  /** The first factor: `password` (also when absent: a challenge from before OAuth sign-ins had one) or `oauth`. */
  method?: string;
  expiresAt: number;
}

/** A GoTrue challenge (POST /factors/{id}/challenge): its factor, user and session. */
interface SealedFactorChallenge {
  kind: 'factor';
  userId: string;
  factorId: string;
  sessionId: string;
  expiresAt: number;
}

export const toFactor = (row: FactorRow): FactorDto => ({
  id: row.id,
  factor_type: row.factor_type,
  friendly_name: row.friendly_name,
  status: row.status,
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
  verified_at: row.verified_at ? row.verified_at.toISOString() : null,
  last_used_at: row.last_used_at ? row.last_used_at.toISOString() : null,
});

/**
 * Second factors (#16): TOTP factors (RFC 6238, otpauth) with their secrets sealed at rest
 * (SealedBox, AES-256-GCM under a key derived from USERS_SECRET_KEY), recovery codes, and the
 * short-lived challenges of a login and of GoTrue's step-up. A code works once (the last time step
 * spent is kept per factor), and verification attempts are counted per factor (and recovery-code
 * attempts per user) in the rate-limit store (USERS_MFA_VERIFY_RATE). Sessions are not made here:
 * AuthService issues the `aal2` session once verifySecondFactor has answered.
 */
@Injectable()
export class MfaService {
  private readonly secrets: SealedBox;
  private readonly challenges: SealedBox;
  private readonly recoveryCodes: RecoveryCodeHasher;
  private readonly attempts?: RateLimiterAbstract;

  constructor(
    private readonly factors: MfaRepository,
    private readonly policy: MfaPolicy,
    private readonly events: EventsService,
    private readonly dataSource: DataSource,
    private readonly store: RateLimitStore,
    private readonly passkeys: PasskeysService,
    @Inject(mfaConfig.KEY) private readonly config: ConfigType<typeof mfaConfig>,
    @Inject(authConfig.KEY) auth: ConfigType<typeof authConfig>,
    @Inject(rateLimitConfig.KEY) rateLimits: ConfigType<typeof rateLimitConfig>,
  ) {
    this.secrets = new SealedBox(auth.secretKey, 'mfa-totp-secret', auth.previousSecretKey);
    this.challenges = new SealedBox(auth.secretKey, 'mfa-challenge', auth.previousSecretKey);
    this.recoveryCodes = new RecoveryCodeHasher(auth.secretKey, auth.previousSecretKey);
    if (rateLimits.enabled) this.attempts = store.limiter(MFA_VERIFY_LIMIT, config.verifyRate);
  }

  list(userId: string): Promise<FactorDto[]> {
    return this.factors.listFactors(userId).then((rows) => rows.map(toFactor));
  }

  /** An admin's view of a user's factors: 404 USER_NOT_FOUND for no such user. */
  async listOf(userId: string): Promise<FactorDto[]> {
    if (!(await this.factors.userExists(userId))) throw new AppError('USER_NOT_FOUND');
    return this.list(userId);
  }

  /**
   * A new, unverified TOTP factor: its secret, the otpauth:// URI and that URI as a QR code (SVG), shown
   * this once. A user who already has a verified factor needs a recent second factor to add another
   * (else whoever has the password could add theirs).
   */
  async enroll(actor: User, assurance: Assurance, input: { friendlyName?: string; issuer?: string }, audit: Audit): Promise<EnrolledFactorDto> {
    this.policy.assertRecentSecondFactor(actor, assurance);
    const secret = new Secret({ size: 20 });
    const totp = this.totp(secret, actor.email, input.issuer);
    const row = await this.dataSource.transaction(async (manager) => {
      await this.factors.lockUser(manager, actor.id);
      const existing = await this.factors.listFactors(actor.id, manager);
      if (existing.length >= MAX_FACTORS) throw new AppError('MFA_FACTOR_LIMIT', `at most ${MAX_FACTORS} factors: remove one first`);
      this.assertFreeName(existing, input.friendlyName);
      const factor = await this.factors.insertFactor(manager, { id: randomUUID(), userId: actor.id, friendlyName: input.friendlyName ?? null, secret: this.secrets.seal(secret.base32) });
      await this.events.record(manager, { operation: 'user.mfa_enroll', userId: actor.id, audit, data: this.factorData(factor) });
      return factor;
    });
    const uri = totp.toString();
    return { factor: toFactor(row), totp: { secret: secret.base32, uri, qr_code: await qrCode(uri, { type: 'svg', errorCorrectionLevel: 'M' }) } };
  }

  /**
   * Options to register a passkey (navigator.credentials.create), bound to the caller's session. Like
   * a TOTP enrolment, a user who already has a verified factor needs a recent second factor.
   */
  async passkeyRegistrationOptions(actor: User, assurance: Assurance, sessionId: string | undefined): Promise<PasskeyOptions<PublicKeyCredentialCreationOptionsJSON>> {
    this.policy.assertRecentSecondFactor(actor, assurance);
    return this.passkeys.registrationOptions(actor, sessionId);
  }

  /**
   * Registers the passkey the browser made for the options' challenge: a verified factor at once (the
   * attestation proved it), so the user now has MFA, and their recovery codes if they had none left
   * (answered this once).
   */
  async registerPasskey(
    actor: User,
    assurance: Assurance,
    sessionId: string | undefined,
    input: { challengeId: string; response: RegistrationResponseJSON; friendlyName?: string },
    audit: Audit,
  ): Promise<RegisteredPasskeyDto> {
    this.policy.assertRecentSecondFactor(actor, assurance);
    const credential = await this.passkeys.verifyRegistration(actor, sessionId, input.challengeId, input.response);
    return this.dataSource.transaction(async (manager) => {
      await this.factors.lockUser(manager, actor.id);
      const existing = await this.factors.listFactors(actor.id, manager);
      if (existing.length >= MAX_FACTORS) throw new AppError('MFA_FACTOR_LIMIT', `at most ${MAX_FACTORS} factors: remove one first`);
      this.assertFreeName(existing, input.friendlyName);
      const row = await this.passkeys.insert(manager, { id: randomUUID(), userId: actor.id, friendlyName: input.friendlyName ?? null, ...credential });
      if (!row) throw new AppError('PASSKEY_ALREADY_REGISTERED');
      await this.events.record(manager, { operation: 'user.mfa_enroll', userId: actor.id, audit, data: this.factorData(row) });
      const codes = await this.enableMfa(manager, actor, audit);
      return { factor: toFactor(row), ...(codes ? { recovery_codes: codes } : {}) };
    });
  }

  async rename(actor: User, factorId: string, friendlyName: string, audit: Audit): Promise<FactorDto> {
    return this.dataSource.transaction(async (manager) => {
      await this.factors.lockUser(manager, actor.id);
      const existing = await this.factors.listFactors(actor.id, manager);
      this.assertFreeName(existing.filter(({ id }) => id !== factorId), friendlyName);
      const row = await this.factors.rename(manager, actor.id, factorId, friendlyName);
      if (!row) throw new AppError('MFA_FACTOR_NOT_FOUND');
      await this.events.record(manager, { operation: 'user.mfa_rename', userId: actor.id, audit, data: this.factorData(row) });
      return toFactor(row);
    });
  }

  /**
   * Removes a factor of `userId`: the user themself (a verified factor needs a recent second factor;
   * an unverified one, an abandoned enrolment, does not), or an admin (the admin route's own rule, see
   * AuthGuard). The last verified factor takes the recovery codes with it.
   */
  async remove(actor: User, assurance: Assurance | undefined, userId: string, factorId: string, audit: Audit): Promise<FactorDto> {
    return this.dataSource.transaction(async (manager) => {
      await this.factors.lockUser(manager, userId);
      const factor = await this.factors.findFactor(userId, factorId, manager);
      if (!factor) throw new AppError('MFA_FACTOR_NOT_FOUND');
      if (actor.id === userId && factor.status === 'verified') this.policy.assertRecentSecondFactor(actor, assurance ?? { aal: 'aal1', amr: [] });
      await this.factors.deleteFactor(manager, userId, factorId);
      const enabled = await this.factors.refreshFlag(manager, userId);
      if (!enabled) await this.factors.replaceRecoveryCodes(manager, userId, []);
      await this.events.record(manager, { operation: 'user.mfa_remove', userId, audit, data: { ...this.factorData(factor), mfa: enabled } });
      return toFactor(factor);
    });
  }

  /** Ten new recovery codes in place of the old ones (a recent second factor needed); shown this once. */
  async regenerateRecoveryCodes(actor: User, assurance: Assurance, audit: Audit): Promise<RecoveryCodesDto> {
    if (!actor.mfaEnabled) throw new AppError('MFA_NOT_ENABLED');
    this.policy.assertRecentSecondFactor(actor, assurance);
    const codes = RecoveryCodeHasher.generate();
    await this.dataSource.transaction(async (manager) => {
      await this.factors.lockUser(manager, actor.id);
      await this.factors.replaceRecoveryCodes(manager, actor.id, codes.map((code) => this.recoveryCodes.hash(code)));
      await this.events.record(manager, { operation: 'user.mfa_recovery_codes_regenerate', userId: actor.id, audit, data: { count: codes.length } });
    });
    return { recovery_codes: codes };
  }

  /**
   * Checks a second factor: a factor's current code (which verifies an unverified factor: its first
   * verification also makes the user's recovery codes, answered here once), or a recovery code (spent).
   * A wrong or replayed code is the event user.mfa_challenge_failed and 422 MFA_CODE_INVALID.
   * `verifiedOnly` (a login's challenge): an unverified factor does not count (404).
   */
  async verifySecondFactor(user: User, input: SecondFactorInput, audit: Audit, { verifiedOnly = false, sessionId }: { verifiedOnly?: boolean; sessionId?: string } = {}): Promise<SecondFactor> {
    if (input.webauthn !== undefined) {
      if (input.challenge_id === undefined) throw new AppError('VALIDATION_FAILED', 'challenge_id is required with webauthn', [{ field: 'challenge_id', problem: 'is required' }]);
      const passkey = await this.passkeys.verifyAssertion(input.challenge_id, input.webauthn, { purpose: 'second_factor', userId: user.id, sessionId }, audit);
      return { method: 'webauthn', factorId: passkey.id };
    }
    if (input.recovery_code !== undefined) {
      if (!user.mfaEnabled) throw new AppError('MFA_NOT_ENABLED');
      await this.countAttempt(`recovery:${user.id}`);
      return this.spendRecoveryCode(user, input.recovery_code, audit);
    }
    if (input.code === undefined) throw new AppError('VALIDATION_FAILED', 'give code (with factor_id), webauthn (with challenge_id) or recovery_code', [{ field: 'code', problem: 'is required' }]);
    const factor = await this.factorToVerify(user, input.factor_id);
    if (verifiedOnly && factor.status !== 'verified') throw new AppError('MFA_FACTOR_NOT_FOUND', 'no verified factor of this id');
    const attempt = await this.countAttempt(`factor:${factor.id}`);
    const secret = Secret.fromBase32(this.openSecret(factor));
    const now = Date.now();
    const delta = /^\d{6}$/.test(input.code) ? this.totp(secret, user.email).validate({ token: input.code, timestamp: now, window: TOTP_WINDOW }) : null;
    if (delta === null) return this.failed(user, factor.id, 'totp', 'invalid_code', audit);
    const spent = await this.factors.spendStep(user.id, factor.id, Math.floor(now / 1000 / TOTP_PERIOD) + delta);
    if (!spent) return this.failed(user, factor.id, 'totp', 'code_already_used', audit);
    await attempt.succeeded();
    if (spent.previous === 'verified') return { method: 'totp', factorId: factor.id };
    return { method: 'totp', factorId: factor.id, recoveryCodes: await this.activated(user, factor, audit) };
  }

  /** A password login's MFA challenge: an `mfa_token` (sealed, short-lived) and the factors to answer it with. */
  async loginChallenge(user: User, firstFactor = 'password'): Promise<MfaChallengeDto> {
    const verified = (await this.factors.listFactors(user.id)).filter(({ status }) => status === 'verified');
    const sealed: SealedLoginChallenge = { kind: 'login', userId: user.id, passwordAt: Math.floor(Date.now() / 1000), method: firstFactor, expiresAt: Date.now() + this.config.challengeTtlMs };
    return {
      mfa_required: true,
      mfa_token: this.challenges.seal(JSON.stringify(sealed)).toString('base64url'),
      expires_in: Math.floor(this.config.challengeTtlMs / 1000),
      factors: verified.map(({ id, factor_type, friendly_name }) => ({ id, factor_type, friendly_name })),
    };
  }

  /** The user, first factor and its time of an unexpired login challenge. */
  openLoginChallenge(mfaToken: string): { userId: string; passwordAt: number; method: string } {
    const sealed = this.openChallenge<SealedLoginChallenge>(mfaToken, 'login');
    return { userId: sealed.userId, passwordAt: sealed.passwordAt, method: sealed.method ?? 'password' };
  }

  /** GoTrue's POST /factors/{id}/challenge: a challenge of one of the user's factors, for this session. */
  async factorChallenge(user: User, factorId: string, sessionId: string): Promise<{ id: string; expiresAt: number }> {
    if (!(await this.factors.findFactor(user.id, factorId))) throw new AppError('MFA_FACTOR_NOT_FOUND');
    const sealed: SealedFactorChallenge = { kind: 'factor', userId: user.id, factorId, sessionId, expiresAt: Date.now() + this.config.challengeTtlMs };
    return { id: this.challenges.seal(JSON.stringify(sealed)).toString('base64url'), expiresAt: Math.floor(sealed.expiresAt / 1000) };
  }

  /** That a GoTrue challenge is of this user, factor and session, and unexpired. */
  assertFactorChallenge(user: User, factorId: string, sessionId: string | undefined, challengeId: string): void {
    const sealed = this.openChallenge<SealedFactorChallenge>(challengeId, 'factor');
    if (sealed.userId !== user.id || sealed.factorId !== factorId || sealed.sessionId !== sessionId) throw new AppError('MFA_CHALLENGE_INVALID');
  }

  private openChallenge<T extends { kind: string; expiresAt: number }>(token: string, kind: T['kind']): T {
    let sealed: T;
    try {
      sealed = JSON.parse(this.challenges.open(Buffer.from(token, 'base64url'))) as T;
    } catch (error) {
      if (error instanceof UnopenableBoxError || error instanceof SyntaxError) throw new AppError('MFA_CHALLENGE_INVALID');
      throw error;
    }
    if (sealed.kind !== kind || sealed.expiresAt <= Date.now()) throw new AppError('MFA_CHALLENGE_INVALID');
    return sealed;
  }

  private totp(secret: Secret, label: string, issuer = this.config.totpIssuer): TOTP {
    return new TOTP({ issuer, label, algorithm: 'SHA1', digits: TOTP_DIGITS, period: TOTP_PERIOD, secret });
  }

  private openSecret(factor: FactorRow): string {
    return this.secrets.open(factor.secret as Buffer);
  }

  /** The factor named, or the user's one verified factor when none is named. */
  private async factorToVerify(user: User, factorId: string | undefined): Promise<FactorRow> {
    if (factorId !== undefined) {
      const factor = await this.factors.findFactor(user.id, factorId);
      if (!factor) throw new AppError('MFA_FACTOR_NOT_FOUND');
      if (factor.factor_type !== 'totp') throw new AppError('VALIDATION_FAILED', 'this factor is a passkey: answer with webauthn and challenge_id', [{ field: 'code', problem: 'is not for a passkey' }]);
      return factor;
    }
    const verified = (await this.factors.listFactors(user.id)).filter(({ status, factor_type }) => status === 'verified' && factor_type === 'totp');
    if (verified.length !== 1) throw new AppError('VALIDATION_FAILED', 'factor_id is required', [{ field: 'factor_id', problem: 'is required' }]);
    return verified[0];
  }

  /** A factor's first verification: the user now has MFA, and recovery codes if they had none left. */
  private async activated(user: User, factor: FactorRow, audit: Audit): Promise<string[] | undefined> {
    return this.dataSource.transaction(async (manager) => {
      await this.factors.lockUser(manager, user.id);
      await this.events.record(manager, { operation: 'user.mfa_activate', userId: user.id, audit, data: this.factorData({ ...factor, status: 'verified' }) });
      return this.enableMfa(manager, user, audit);
    });
  }

  /** A verified factor now exists (in the caller's transaction, user locked): the flag, and recovery codes if none are left. */
  private async enableMfa(manager: EntityManager, user: User, audit: Audit): Promise<string[] | undefined> {
    await this.factors.refreshFlag(manager, user.id);
    user.mfaEnabled = true;
    const codes = (await this.factors.unusedRecoveryCodes(user.id, manager)) === 0 ? RecoveryCodeHasher.generate() : undefined;
    if (codes) {
      await this.factors.replaceRecoveryCodes(manager, user.id, codes.map((code) => this.recoveryCodes.hash(code)));
      await this.events.record(manager, { operation: 'user.mfa_recovery_codes_regenerate', userId: user.id, audit, data: { count: codes.length } });
    }
    return codes;
  }

  private async spendRecoveryCode(user: User, code: string, audit: Audit): Promise<SecondFactor> {
    const hashes = this.recoveryCodes.hashes(code);
    const remaining = await this.dataSource.transaction(async (manager: EntityManager) => {
      if (!(await this.factors.spendRecoveryCode(manager, user.id, hashes))) return undefined;
      const left = await this.factors.unusedRecoveryCodes(user.id, manager);
      await this.events.record(manager, { operation: 'user.mfa_recovery_code_used', userId: user.id, audit, data: { remaining: left } });
      return left;
    });
    if (remaining === undefined) return this.failed(user, undefined, 'recovery', 'invalid_code', audit);
    await this.unhit(`recovery:${user.id}`);
    return { method: 'recovery' };
  }

  /** Records user.mfa_challenge_failed (in its own transaction: the refusal rolls nothing back) and refuses. */
  private async failed(user: User, factorId: string | undefined, method: SecondFactorMethod, reason: 'invalid_code' | 'code_already_used', audit: Audit): Promise<never> {
    await this.dataSource.transaction((manager) =>
      this.events.record(manager, { operation: 'user.mfa_challenge_failed', userId: user.id, audit, data: { factor_id: factorId ?? null, method, reason } }),
    );
    throw new AppError('MFA_CODE_INVALID', reason === 'code_already_used' ? 'this code was already used: wait for the next one' : 'invalid code');
  }

  /** Counts a verification attempt (USERS_MFA_VERIFY_RATE); over the limit, 429 RATE_LIMITED. A right answer takes it back. */
  private async countAttempt(key: string): Promise<{ succeeded(): Promise<void> }> {
    const attempts = this.attempts;
    if (!attempts) return { succeeded: async () => undefined };
    const count = await this.store.hit(attempts, key);
    if (count.exceeded) throw new RateLimitedError(MFA_VERIFY_LIMIT, count.msBeforeNext);
    return { succeeded: () => this.store.unhit(attempts, key) };
  }

  private async unhit(key: string): Promise<void> {
    if (this.attempts) await this.store.unhit(this.attempts, key);
  }

  private assertFreeName(factors: FactorRow[], name: string | undefined): void {
    if (name !== undefined && factors.some(({ friendly_name }) => friendly_name?.toLowerCase() === name.toLowerCase())) throw new AppError('MFA_FACTOR_NAME_TAKEN');
  }

  private factorData(factor: FactorRow): Record<string, unknown> {
    return { factor_id: factor.id, factor_type: factor.factor_type, friendly_name: factor.friendly_name, status: factor.status };
  }
}
