// Unique base names `<secs>.M<usecs>P<pid>.<host>`. Like Dovecot, we make the
// (secs, usecs) pair strictly increase within the process, so the pid keeps names of
// different processes apart and the clock keeps restarts apart.
import { buildUnique } from './filename.js';

export class UniqueNames {
  private lastSecs = 0;
  private lastUsecs = -1;

  constructor(private readonly host: string) {}

  next(): string {
    const nowUs = BigInt(Date.now()) * 1000n + (process.hrtime.bigint() / 1000n) % 1000n;
    let secs = Number(nowUs / 1_000_000n);
    let usecs = Number(nowUs % 1_000_000n);
    if (secs < this.lastSecs || (secs === this.lastSecs && usecs <= this.lastUsecs)) {
      secs = this.lastSecs;
      usecs = this.lastUsecs + 1;
      if (usecs >= 1_000_000) {
        secs++;
        usecs = 0;
      }
    }
    this.lastSecs = secs;
    this.lastUsecs = usecs;
    return buildUnique({ secs, usecs, pid: process.pid, host: this.host });
  }
}
