// Paths the store itself just created, renamed or removed, so the fs.watch handler can
// tell our own writes (already announced on the change bus) from other programs'.
const TTL_MS = 5_000;

export class OwnWrites {
  private readonly entries = new Map<string, number>();

  note(...paths: string[]): void {
    const now = Date.now();
    if (this.entries.size > 10_000) this.sweep(now);
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
