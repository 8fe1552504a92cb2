const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(?:0|(\d+(?:\.\d+)?(?:ms|s|m|h))+)$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

/**
 * Parses a Go-style duration (`15m`, `24h`, `1h30m`, `500ms`, and `0` or `0s`) into milliseconds;
 * undefined if malformed. Whether zero makes sense is the setting's business (IsDuration).
 */
export function parseDuration(value: string): number | undefined {
  if (!DURATION.test(value)) return undefined;
  let total = 0;
  for (const [, amount, unit] of value.matchAll(PART)) total += Number(amount) * UNIT_MS[unit];
  return Math.round(total);
}
