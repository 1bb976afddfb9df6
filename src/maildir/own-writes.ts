// Paths the store itself just created, renamed or removed, so the fs.watch handler can
// tell our own writes (already announced on the change bus) from other programs'.
const TTL_MS = 5_000;

export class OwnWrites {
  private readonly entries = new Map<string, number>();
  /** Size that triggers the next sweep: twice what a sweep left, so a burst of writes
   *  within TTL_MS (STORE +FLAGS 1:* renames 10,000 files: 20,000 paths) sweeps a few
   *  times, not on every note (that was quadratic: 7 of the 12 s CPU of such a STORE). */
  private sweepAt = 10_000;

  note(...paths: string[]): void {
    const now = Date.now();
    if (this.entries.size > this.sweepAt) {
      this.sweep(now);
      this.sweepAt = Math.max(10_000, 2 * this.entries.size);
    }
    for (const p of paths) this.entries.set(p, now + TTL_MS);
  }

  has(p: string): boolean {
    const until = this.entries.get(p);
    if (until === undefined) return false;
    if (until < Date.now()) {
      this.entries.delete(p);
      return false;
    }
    return true;
  }

  private sweep(now: number): void {
    for (const [p, until] of this.entries) if (until < now) this.entries.delete(p);
  }
}
