import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { processLogger } from './logger';

/** What each background worker was doing when the application stopped. */
export interface DrainedWork {
  /** A batch was running, and shutdown waited for it to finish (rather than cutting it off). */
  batch_in_flight: boolean;
  waited_ms: number;
}

const drained: Record<string, DrainedWork> = {};

/** Called by each worker as it stops (PollingWorker.stop), for the one shutdown line. */
export function recordDrained(name: string, work: DrainedWork): void {
  drained[name] = work;
}

/**
 * The last line of a run: why it stopped, and what was drained on the way out. Nest calls this after
 * every module was destroyed (the workers stopped, connections closed). Graceful shutdown may add
 * what it drained through recordDrained.
 */
@Injectable()
export class ShutdownReport implements OnApplicationShutdown {
  private readonly startedAt = Date.now();

  onApplicationShutdown(signal?: string): void {
    processLogger().info({ signal: signal ?? null, uptime_s: Math.round((Date.now() - this.startedAt) / 1000), drained }, 'stopped');
  }
}
