import { Logger } from '@nestjs/common';
import { isDatabaseUnavailable, logFailure } from './database/database-unavailable';
import { recordDrained } from './logging/shutdown-report';

/**
 * Runs `work` until it reports that nothing is left, then sleeps until woken (`wake()`, e.g. by a
 * PostgreSQL NOTIFY) or until `intervalMs` passes, whichever comes first. One run at a time; a
 * failed run is logged and retried after the interval; a database outage is logged once, when it
 * starts, and its end once more. `stop()` waits for the current run.
 */
export class PollingWorker {
  private timer?: NodeJS.Timeout;
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
    clearTimeout(this.timer);
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.stopped) return;
      if (this.rerun) {
        this.rerun = false;
        this.wake();
      } else {
        this.timer = setTimeout(() => this.wake(), this.intervalMs);
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
