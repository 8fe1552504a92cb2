import { AddRouteConfig } from '../common/decorators/route-config.decorator';
import { AppError } from '../common/errors/app-error';

/** Retry-After of a SERVER_BUSY: a full queue drains in about this long. */
const BUSY_RETRY_AFTER_SECONDS = 1;

/**
 * Marks a route whose every request hashes a password: while the queue is full, its requests are
 * answered 503 SERVER_BUSY as soon as they arrive, before their body is even parsed (PasswordService's
 * onRequest hook), so that a flood costs the event loop as little as possible.
 */
export const HashesPassword = () => AddRouteConfig({ hashesPassword: true });

export interface HashingQueueStats {
  running: number;
  waiting: number;
}

/**
 * Password hashing as a bounded resource: at most `concurrency` argon2 hashes run at once (each holds
 * USERS_ARGON2_MEMORY_KIB and a core), at most `queueSize` more wait in order, and any beyond those is
 * refused at once with 503 SERVER_BUSY and Retry-After, before it costs memory or time. A flood of
 * logins or registrations then gets fast refusals instead of a growing queue of requests and memory,
 * and leaves the cores argon2 does not take to everything else.
 */
export class HashingQueue {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly queueSize: number,
    private readonly onRefused: () => void = () => undefined,
  ) {}

  get stats(): HashingQueueStats {
    return { running: this.running, waiting: this.waiting.length };
  }

  /**
   * Refuses now, with SERVER_BUSY, when a hash could not even wait: for a request to call before the
   * work that leads to its hash (the user's lookup), so that a flood is shed before it costs anything.
   */
  assertRoom(): void {
    if (!this.hasRoom()) {
      this.onRefused();
      throw HashingQueue.busy();
    }
  }

  /** Whether one more hash could run or wait now. */
  hasRoom(): boolean {
    return this.running < this.concurrency || this.waiting.length < this.queueSize;
  }

  static busy(): AppError {
    return Object.assign(new AppError('SERVER_BUSY'), { retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS });
  }

  async run<T>(hashing: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      this.assertRoom();
      // The slot is handed over by the hash that ends (running stays counted), so no newcomer can overtake.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await hashing();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
