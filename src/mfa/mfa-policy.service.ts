import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Assurance, SECOND_FACTOR_METHODS } from '../auth/access-token';
import { AppError } from '../common/errors/app-error';
import { mfaConfig } from '../config/mfa.config';
import { User } from '../users/entities/user.entity';

/** What the auth guard tells MfaPolicy of an authenticated request (see assertRequestAssurance). */
export interface GuardedRequest {
  /** The HTTP method. */
  method: string;
  /** An admin route (@Roles('admin')), or an admin's change to another user's account. */
  admin: boolean;
  /** A @SensitiveOperation() route. */
  sensitive: boolean;
  /** An @AllowAal1() route: one an aal1 session needs to step up or to end itself. */
  allowAal1: boolean;
  /** The route's `:id` (a user's id), when it has one. */
  targetId?: string;
}

/** The methods that change nothing, which an aal1 session of a user with a second factor may use. */
const SAFE_METHODS = ['GET', 'HEAD'];

/**
 * The assurance rules (#16), in one place: the auth guard applies them to every authenticated request
 * (assertRequestAssurance), the MFA and GoTrue services to the operations whose sensitivity depends on
 * their input (removing a verified factor, PUT /auth/v1/user's password).
 */
@Injectable()
export class MfaPolicy {
  constructor(@Inject(mfaConfig.KEY) private readonly config: ConfigType<typeof mfaConfig>) {}

  /**
   * The guard's rule for a request: admin routes need assertAdminAssurance, sensitive ones
   * assertRecentSecondFactor, and any other one, for a user with a verified factor, an `aal2` session
   * unless it only reads their own resources or is an @AllowAal1() route (assertMayUseAal1).
   */
  assertRequestAssurance(user: User, assurance: Assurance, request: GuardedRequest): void {
    if (request.admin) this.assertAdminAssurance(user, assurance);
    else if (request.sensitive) this.assertRecentSecondFactor(user, assurance);
    else this.assertMayUseAal1(user, assurance, request);
  }

  /**
   * A user with a verified factor whose session has one factor only (`aal1`: GoTrue's password grant,
   * an OAuth sign-in, a mailed link, or any session from before the first factor was verified) may read
   * their own resources (GET/HEAD, no other user's `:id`) and use the @AllowAal1() routes (step up,
   * sign out); anything else needs the second factor: a stolen password alone changes nothing.
   */
  private assertMayUseAal1(user: User, assurance: Assurance, request: GuardedRequest): void {
    if (!user.mfaEnabled || assurance.aal === 'aal2' || request.allowAal1) return;
    const ownOrNone = request.targetId === undefined || request.targetId === user.id;
    if (SAFE_METHODS.includes(request.method) && ownOrNone) return;
    throw new AppError(
      'AAL2_REQUIRED',
      'this session signed in with one factor (aal1) and is read-only for a user with a second factor: step up with POST /users/tokens/step-up (GoTrue: POST /auth/v1/factors/{id}/challenge and /verify)',
    );
  }

  /**
   * A user with a verified factor needs `aal2` whose second factor (the latest `totp`, `webauthn` or `recovery`
   * of `amr`) is within USERS_MFA_REAUTH_WINDOW; a user without one needs nothing more.
   */
  assertRecentSecondFactor(user: User, assurance: Assurance): void {
    if (!user.mfaEnabled) return;
    if (assurance.aal !== 'aal2') throw new AppError('AAL2_REQUIRED');
    const last = Math.max(0, ...assurance.amr.filter(({ method }) => SECOND_FACTOR_METHODS.includes(method)).map(({ timestamp }) => timestamp));
    if (last * 1000 < Date.now() - this.config.reauthWindowMs) {
      throw new AppError('AAL2_REQUIRED', 'your second factor was given longer ago than USERS_MFA_REAUTH_WINDOW: verify a code again (POST /users/tokens/step-up)');
    }
  }

  /** An admin route: with USERS_MFA_REQUIRED_FOR_ADMINS an admin must have a factor; one who has a factor needs a recent aal2. */
  assertAdminAssurance(admin: User, assurance: Assurance): void {
    if (this.config.requiredForAdmins && !admin.mfaEnabled) throw new AppError('MFA_ENROLLMENT_REQUIRED');
    this.assertRecentSecondFactor(admin, assurance);
  }
}
