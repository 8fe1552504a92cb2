import { AppError } from '../common/errors/app-error';
import { HashingQueue } from './hashing-queue';

/** A hash that ends when the test says so. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, task: () => opened.then(() => 'hashed') };
}

describe('HashingQueue', () => {
  it('runs at most `concurrency` at once, queues `queueSize` in order, and refuses the rest at once with SERVER_BUSY', async () => {
    let refused = 0;
    const queue = new HashingQueue(2, 3, () => refused++);
    const gates = Array.from({ length: 5 }, gate);
    const order: number[] = [];
    const accepted = gates.map((g, i) => queue.run(g.task).then(() => order.push(i)));
    expect(queue.stats).toEqual({ running: 2, waiting: 3 });

    const busy = await queue.run(async () => 'never').catch((error: unknown) => error);
    expect(busy).toBeInstanceOf(AppError);
    expect(busy).toMatchObject({ code: 'SERVER_BUSY', status: 503, retryAfterSeconds: 1 });
    expect(refused).toBe(1);

    // Ending the running ones lets the waiting ones in, first come first served.
    for (const i of [1, 0, 2, 3, 4]) gates[i].open();
    await Promise.all(accepted);
    expect(order).toEqual([1, 0, 2, 3, 4]);
    expect(queue.stats).toEqual({ running: 0, waiting: 0 });
  });

  it('a failing hash frees its slot', async () => {
    const queue = new HashingQueue(1, 0);
    await expect(queue.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(queue.run(async () => 'ok')).resolves.toBe('ok');
  });

  it('a queue of 0 refuses whatever cannot run at once', async () => {
    const queue = new HashingQueue(1, 0);
    const g = gate();
    const first = queue.run(g.task);
    await expect(queue.run(async () => 'second')).rejects.toMatchObject({ code: 'SERVER_BUSY' });
    g.open();
    await expect(first).resolves.toBe('hashed');
  });
});
