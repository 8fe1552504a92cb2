import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { RateLimiterAbstract } from 'rate-limiter-flexible';
import { rateLimitConfig } from '../config/rate-limit.config';
import { Metrics } from '../metrics/metrics.service';
import { RateLimitStore } from './rate-limit-store.service';

/** One login attempt, counted against its account. */
export interface LoginAttempt {
  /** False while the account is locked: the password must not be checked, and the answer is a failed login. */
  allowed: boolean;
  /** The password was right: the attempt is taken back (only failures lock). */
  succeeded(): Promise<void>;
}

/**
 * Brute-force defence (USERS_LOGIN_LOCKOUT, 10/15m): an account with `count` failed logins in a window
 * takes no further guess until the window ends. Every attempt is counted (one atomic increment in
 * Redis, shared by the replicas) before its password is checked, and taken back when it was right, so
 * that N parallel guesses check at most `count` passwords. A locked attempt is answered exactly like a
 * wrong password, decoy hash included: the lock says nothing about whether the account exists, and
 * unknown identities lock the same way. Keyed by account, not by account and IP: a botnet cannot
 * spread its guesses over addresses; the price is that a guesser can keep an account locked for as
 * long as they keep guessing, never longer than a window after they stop.
 */
@Injectable()
export class LoginLockout {
  private readonly failures?: RateLimiterAbstract;

  constructor(
    @Inject(rateLimitConfig.KEY) config: ConfigType<typeof rateLimitConfig>,
    private readonly store: RateLimitStore,
    private readonly metrics: Metrics,
  ) {
    if (config.enabled) this.failures = store.limiter('login-failures', config.loginLockout);
  }

  /** `account`: the user's id when the identity names one, else the identity itself, normalised. */
  async attempt(account: string): Promise<LoginAttempt> {
    const failures = this.failures;
    if (!failures) return { allowed: true, succeeded: async () => undefined };
    const { exceeded } = await this.store.hit(failures, account);
    if (exceeded) this.metrics.loginLockouts.inc();
    return { allowed: !exceeded, succeeded: () => this.store.unhit(failures, account) };
  }
}
