// How both benchmarks load a server: K open connections take the next message from one
// shared list as soon as they are free, so a slow connection never holds the others up.

/** Sends message 0..n-1 over `conns`; returns each send's latency (ms), in completion order. */
export async function spreadOver<C>(conns: readonly C[], n: number, send: (c: C, i: number) => Promise<number>): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    conns.map(async (c) => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        latencies.push(await send(c, i));
      }
    }),
  );
  return latencies;
}
