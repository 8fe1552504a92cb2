import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import * as argon2 from 'argon2';
import { authConfig } from '../config/auth.config';
import { AppError } from '../common/errors/app-error';
import { Metrics } from '../metrics/metrics.service';
import { HashingQueue } from './hashing-queue';
import { PasswordOwner, passwordProblems } from './password-policy';

/** The message of a password the policy refuses (its reasons are the error's details). */
export const WEAK_PASSWORD = 'password does not meet the password policy';

/**
 * argon2id hashing; argon2's async API runs on libuv's thread pool, off the event loop. Every hash and
 * check goes through one HashingQueue (USERS_ARGON2_CONCURRENCY at once, USERS_ARGON2_QUEUE_SIZE
 * waiting, then 503 SERVER_BUSY).
 */
@Injectable()
export class PasswordService implements OnModuleInit {
  private readonly options: argon2.HashOptions & { raw?: false };
  private readonly queue: HashingQueue;
  /** Verified against when the identity is unknown, so that a miss costs the same as a hit. */
  private decoyHash: string;

  constructor(
    @Inject(authConfig.KEY) private readonly auth: ConfigType<typeof authConfig>,
    metrics: Metrics,
  ) {
    this.options = { type: argon2.argon2id, ...auth.argon2 };
    this.queue = new HashingQueue(auth.hashing.concurrency, auth.hashing.queueSize, () => metrics.hashingRefused.inc());
    metrics.hashingStats = () => this.queue.stats;
  }

  async onModuleInit() {
    this.decoyHash = await this.hash('decoy password that matches nothing');
  }

  /**
   * Refuses a password that does not match USERS_PASS_REGEX, is a common one, or is built from its
   * owner's e-mail address or username (see password-policy.ts), with every reason in the details.
   */
  assertAcceptable(password: string, field: string, owner: PasswordOwner): void {
    const problems = passwordProblems(password, owner, field);
    if (!this.auth.passwordPattern.test(password)) problems.unshift({ field, problem: `must match ${this.auth.passwordPattern.source}` });
    if (problems.length > 0) throw new AppError('VALIDATION_FAILED', WEAK_PASSWORD, problems);
  }

  /** SERVER_BUSY now if a hash could not even wait its turn: before the work that leads to one. */
  assertCanHash(): void {
    this.queue.assertRoom();
  }

  hash(password: string): Promise<string> {
    return this.queue.run(() => argon2.hash(password, this.options));
  }

  /** Checks a password against a stored hash, or against the decoy when there is none. */
  verify(hash: string | null | undefined, password: string): Promise<boolean> {
    return this.queue.run(async () => {
      try {
        const matches = await argon2.verify(hash ?? this.decoyHash, password);
        return matches && Boolean(hash);
      } catch {
        return false; // a malformed stored hash is a failed login, not a 500
      }
    });
  }

  /** True when the hash was made with other parameters than the configured ones. */
  needsRehash(hash: string): boolean {
    return argon2.needsRehash(hash, this.options);
  }
}
