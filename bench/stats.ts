// Command-line flags and the figures both benchmarks report.

/** The value after `--name` in argv, if given. */
export function flag(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** The p-quantile (0..1) of an ascending list. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

/** The round whose rate is the median; its latencies are reported with it. */
export function medianByRate<R extends { rate: number }>(results: readonly R[]): R {
  const sorted = [...results].sort((a, b) => a.rate - b.rate);
  return sorted[Math.floor(sorted.length / 2)]!;
}
