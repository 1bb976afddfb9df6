// The retry schedule for temporary failures: the first retry after `initialMs`, doubling
// each time up to `maxMs` (5 min, 10, 20, 40, 60, 60 … by default), until `expireMs` after
// arrival, when the recipient fails with 4.4.7 (RFC 3463: delivery time expired).
export interface RetrySchedule {
  initialMs: number;
  maxMs: number;
  expireMs: number;
  delayWarningMs: number;
}

/** Wait before attempt number `attempts + 1`, given `attempts` failed so far (≥ 1). */
export function nextAttemptDelay(s: RetrySchedule, attempts: number): number {
  const exp = Math.min(Math.max(attempts - 1, 0), 30);
  return Math.min(s.maxMs, s.initialMs * 2 ** exp);
}
