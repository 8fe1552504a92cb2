import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Assurance, SECOND_FACTOR_METHODS } from '../auth/access-token';
import { AppError } from '../common/errors/app-error';
import { mfaConfig } from '../config/mfa.config';
import { User } from '../users/entities/user.entity';

/**
 * The assurance rules of sensitive operations (#16), in one place: the auth guard applies them to
 * admin routes and to @SensitiveOperation() routes, the MFA and GoTrue services to the operations
 * whose sensitivity depends on their input (removing a verified factor, PUT /auth/v1/user's password).
 */
@Injectable()
export class MfaPolicy {
  constructor(@Inject(mfaConfig.KEY) private readonly config: ConfigType<typeof mfaConfig>) {}

  /**
   * A user with a verified factor needs `aal2` whose second factor (the latest `totp` or `recovery`
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
