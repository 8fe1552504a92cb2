/**
 * Preloaded (`node --expose-gc -r`) into the built service by tests that measure its memory: on SIGUSR2
 * it collects garbage and writes one line `{"heapProbe": {...process.memoryUsage(), n}}` to stderr,
 * `n` counting the probes. The service itself never sees the signal.
 */
let n = 0;
process.on('SIGUSR2', () => {
  global.gc();
  global.gc();
  process.stderr.write(`${JSON.stringify({ heapProbe: { ...process.memoryUsage(), n: ++n } })}\n`);
});
