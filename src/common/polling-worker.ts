import { Logger } from '@nestjs/common';
import { isDatabaseUnavailable, logFailure } from './database/database-unavailable';
import { recordDrained } from './logging/shutdown-report';

/**
 * Wake-ups closer together than this are batched into one run: the first wake-up after a quiet
 * spell runs at once, the ones that follow within this time from its start run once, together, when
 * it is over. Under a burst of commits that each NOTIFY (a login burst, a refresh storm) a worker then
 * runs at most 1000 / WAKE_COALESCE_MS times a second instead of once per commit, and leaves the CPU
 * to the requests (argon2 above all); a lone event is not delayed.
 */
export const WAKE_COALESCE_MS = 100;

/**
 * Runs `work` until it reports that nothing is left, then sleeps until woken (`wake()`, e.g. by a
 * PostgreSQL NOTIFY; see WAKE_COALESCE_MS) or until `intervalMs` passes, whichever comes first. One run at a time; a
 * failed run is logged and retried after the interval; a database outage is logged once, when it
 * starts, and its end once more. `stop()` waits for the current run.
 */
export class PollingWorker {
  private timer?: NodeJS.Timeout;
  /** When the timer fires (Date.now() time). */
  private dueAt = 0;
  private lastStartedAt = -Infinity;
  private running?: Promise<void>;
  private rerun = false;
  private stopped = true;
  /** Set while runs fail, so that an outage is one line at its start and one at its end. */
  private failingSince?: number;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    /** Resolves true when it did a full batch and more may be waiting. */
    private readonly work: () => Promise<boolean>,
    private readonly logger = new Logger(name),
  ) {}

  start(): void {
    this.stopped = false;
    this.wake();
  }

  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.rerun = true;
      return;
    }
    this.runAt(this.lastStartedAt + WAKE_COALESCE_MS);
  }

  /** Runs at `at` (at once when that is past), unless a run is already due sooner. */
  private runAt(at: number): void {
    if (this.timer && this.dueAt <= at) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    const delay = at - Date.now();
    if (delay <= 0) return this.run();
    this.dueAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.run();
    }, delay);
  }

  private run(): void {
    if (this.stopped || this.running) return;
    this.lastStartedAt = Date.now();
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.stopped) return;
      if (this.rerun) {
        this.rerun = false;
        this.wake();
      } else {
        this.runAt(Date.now() + this.intervalMs);
      }
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const since = Date.now();
    const inFlight = this.running !== undefined;
    await this.running;
    recordDrained(this.name, { batch_in_flight: inFlight, waited_ms: Date.now() - since });
  }

  private async drain(): Promise<void> {
    try {
      while (!this.stopped && (await this.work()));
      if (this.failingSince !== undefined) this.logger.log(`${this.name} works again after ${Date.now() - this.failingSince} ms`);
      this.failingSince = undefined;
    } catch (error) {
      if (this.failingSince === undefined || !isDatabaseUnavailable(error)) logFailure(this.logger, error, `${this.name} failed; retrying in ${this.intervalMs} ms`);
      this.failingSince ??= Date.now();
    }
  }
}
