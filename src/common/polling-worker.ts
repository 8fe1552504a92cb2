import { Logger } from '@nestjs/common';
import { recordDrained } from './logging/shutdown-report';

/**
 * Runs `work` until it reports that nothing is left, then sleeps until woken (`wake()`, e.g. by a
 * PostgreSQL NOTIFY) or until `intervalMs` passes, whichever comes first. One run at a time; a
 * failed run is logged and retried after the interval. `stop()` waits for the current run.
 */
export class PollingWorker {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private rerun = false;
  private stopped = true;

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
    } catch (error) {
      this.logger.error({ err: error }, `${this.name} failed; retrying in ${this.intervalMs} ms`);
    }
  }
}
