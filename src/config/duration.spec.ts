import { parseDuration } from './duration';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['15m', 15 * 60_000],
    ['24h', 24 * 3_600_000],
    ['1h30m', 90 * 60_000],
    ['720h', 720 * 3_600_000],
    ['1m30s', 90_000],
    ['2h45m10s500ms', 2 * 3_600_000 + 45 * 60_000 + 10_000 + 500],
    ['1.5h', 90 * 60_000],
    ['0h15m', 15 * 60_000],
    ['0', 0],
    ['0s', 0],
    ['0ms', 0],
  ])('parses %s as %d ms', (value, ms) => {
    expect(parseDuration(value)).toBe(ms);
  });

  it.each([
    ['', 'empty'],
    ['10', 'no unit'],
    ['m', 'no amount'],
    ['-1s', 'negative'],
    ['1d', 'unknown unit (days)'],
    ['00', 'a bare number other than 0'],
    ['1w', 'unknown unit (weeks)'],
    ['15M', 'upper-case unit'],
    [' 15m', 'leading space'],
    ['15m ', 'trailing space'],
    ['1h 30m', 'inner space'],
    ['15 m', 'space before the unit'],
    ['15min', 'long unit name'],
    ['+15m', 'sign'],
    ['1e3ms', 'exponent'],
    ['.5h', 'no integer part'],
    ['h15', 'unit first'],
    ['soon', 'words'],
  ])('refuses %j (%s)', (value) => {
    expect(parseDuration(value)).toBeUndefined();
  });
});
