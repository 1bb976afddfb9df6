// Bounded parallelism for per-message file work (stat, rename): one await per message in a
// row costs a thread-pool round trip each, which a 10,000-message mailbox turns into seconds.

/** Runs fn(0..n-1) with at most `limit` calls in flight; rejects with the first error. */
export async function eachLimited(n: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}
