import { Logger } from '@nestjs/common';
import { PollingWorker, WAKE_COALESCE_MS } from './polling-worker';

const INTERVAL_MS = 1000;

describe('PollingWorker', () => {
  let runs: number[];
  let worker: PollingWorker;

  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
    runs = [];
    worker = new PollingWorker('test', INTERVAL_MS, () => {
      runs.push(Date.now());
      return Promise.resolve(false);
    }, new Logger('test'));
  });

  afterEach(async () => {
    await worker.stop();
    jest.useRealTimers();
  });

  /** Lets the run in flight and its promise callbacks finish. */
  const settle = () => jest.advanceTimersByTimeAsync(0);

  it('runs at once when woken after a quiet spell', async () => {
    worker.start();
    await settle();
    await jest.advanceTimersByTimeAsync(WAKE_COALESCE_MS * 3);
    worker.wake();
    await settle();
    expect(runs).toEqual([1_000_000, 1_000_000 + WAKE_COALESCE_MS * 3]);
  });

  it('batches a burst of wake-ups into one run per WAKE_COALESCE_MS', async () => {
    worker.start();
    await settle();
    // A NOTIFY every 5 ms for a second, as under a login burst.
    for (let elapsed = 0; elapsed < 1000; elapsed += 5) {
      worker.wake();
      await jest.advanceTimersByTimeAsync(5);
    }
    await jest.advanceTimersByTimeAsync(WAKE_COALESCE_MS);
    expect(runs.length).toBeLessThanOrEqual(1 + 1000 / WAKE_COALESCE_MS + 1);
    expect(runs.length).toBeGreaterThanOrEqual(1000 / WAKE_COALESCE_MS);
    for (let i = 1; i < runs.length; i++) expect(runs[i] - runs[i - 1]).toBeGreaterThanOrEqual(WAKE_COALESCE_MS);
  });

  it('still polls every interval when nothing wakes it', async () => {
    worker.start();
    await settle();
    await jest.advanceTimersByTimeAsync(INTERVAL_MS * 2);
    expect(runs).toEqual([1_000_000, 1_000_000 + INTERVAL_MS, 1_000_000 + INTERVAL_MS * 2]);
  });

  it('never runs after stop, even with a batched wake-up pending', async () => {
    worker.start();
    await settle();
    worker.wake();
    await worker.stop();
    await jest.advanceTimersByTimeAsync(INTERVAL_MS * 2);
    expect(runs).toEqual([1_000_000]);
  });
});
