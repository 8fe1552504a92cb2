/**
 * The wait before the next attempt to send a queued row (a mail, an event, a webhook) after `attempts`
 * failed ones: `baseMs`, doubling with each failure, never more than `maxMs`.
 */
export function retryDelayMs(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(baseMs * 2 ** attempts, maxMs);
}
