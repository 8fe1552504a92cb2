import { parseRate } from './rate';

describe('parseRate', () => {
  it.each([
    ['30/5m', { count: 30, windowMs: 300_000 }],
    ['150/5m', { count: 150, windowMs: 300_000 }],
    ['10/15m', { count: 10, windowMs: 900_000 }],
    ['1/1s', { count: 1, windowMs: 1000 }],
    ['5/1h30m', { count: 5, windowMs: 90 * 60_000 }],
    ['2/1.5m', { count: 2, windowMs: 90_000 }],
    [' 30/5m ', { count: 30, windowMs: 300_000 }],
  ])('parses %s', (value, rate) => {
    expect(parseRate(value)).toEqual(rate);
  });

  it.each([
    ['', 'empty'],
    ['30', 'no window'],
    ['30/', 'empty window'],
    ['/5m', 'no count'],
    ['0/5m', 'a zero count'],
    ['-1/5m', 'a negative count'],
    ['30/0s', 'a zero window'],
    ['30/500ms', 'a window under a second (Redis counts in whole seconds)'],
    ['30/1.5s', 'a window of a fraction of a second'],
    ['30/5', 'a window without unit'],
    ['30/5d', 'an unknown unit'],
    ['3.5/5m', 'a fractional count'],
    ['30 / 5m', 'spaces inside'],
    ['30/5m/1h', 'two windows'],
    ['99999999999999999999/1m', 'a count too large to count'],
  ])('refuses %s (%s)', (value) => {
    expect(parseRate(value)).toBeUndefined();
  });
});
