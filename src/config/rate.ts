import { parseDuration } from './duration';

/** A limit of `count` events per window of `windowMs` milliseconds. */
export interface Rate {
  count: number;
  windowMs: number;
}

const RATE = /^(\d+)\/(.+)$/;

/**
 * Parses a limit in `count/window` form (`30/5m`, `10/15m`, `150/1h30m`: the window is a duration as
 * durations are written everywhere else, in whole seconds: Redis expires keys by the second); undefined if
 * malformed, or if the count or the window is zero.
 */
export function parseRate(value: string): Rate | undefined {
  const match = RATE.exec(value.trim());
  if (!match) return undefined;
  const count = Number(match[1]);
  const windowMs = parseDuration(match[2]);
  if (!Number.isSafeInteger(count) || count < 1 || windowMs === undefined || windowMs < 1000 || windowMs % 1000 !== 0) return undefined;
  return { count, windowMs };
}
