import { humanDuration } from './mail-sender.service';

describe('humanDuration', () => {
  it.each([
    [15 * 60_000, '15 minutes'],
    [24 * 3_600_000, '24 hours'],
    [72 * 3_600_000, '3 days'],
    [90 * 60_000, '90 minutes'],
    [3_600_000, '1 hour'],
    [30_000, '30 seconds'],
    [1500, '2 seconds'],
    [500, '1 second'],
    [36 * 3_600_000, '36 hours'],
  ])('%d ms is %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
});
