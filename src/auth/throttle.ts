// Brute-force throttling shared by IMAP, POP3 and submission: one instance in the process,
// so guessing a password on one protocol is throttled on all of them.
// Each failure delays the next reply from that address (a tarpit that slows a guessing loop
// without locking out a user who mistyped once); past the limits an address or a user name
// is refused outright until the window has passed since its last failure.

export interface AuthThrottleOptions {
  /** Failures from one address within the window before it is refused. */
  maxFailuresPerIp: number;
  /** Failures for one user name (from anywhere) within the window before it is refused. */
  maxFailuresPerUser: number;
  windowMs: number;
  /** Delay added per recent failure, capped at maxDelayMs. */
  delayStepMs: number;
  maxDelayMs: number;
  now?: () => number;
}

export interface ThrottleVerdict {
  /** False: refuse without checking the password. */
  allowed: boolean;
  /** Wait this long before answering (applies to refusals and failures alike). */
  delayMs: number;
}

interface Counter {
  failures: number;
  last: number;
}

export class AuthThrottle {
  private readonly byIp = new Map<string, Counter>();
  private readonly byUser = new Map<string, Counter>();
  private readonly now: () => number;

  constructor(private readonly opts: AuthThrottleOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Before checking a password. `user` may be empty when the name is not known yet. */
  check(ip: string, user: string): ThrottleVerdict {
    const ipFailures = this.current(this.byIp, ip);
    const userFailures = user ? this.current(this.byUser, user.toLowerCase()) : 0;
    const allowed = ipFailures < this.opts.maxFailuresPerIp && userFailures < this.opts.maxFailuresPerUser;
    return { allowed, delayMs: this.delayFor(Math.max(ipFailures, userFailures)) };
  }

  /** After a wrong password (or unknown user). Returns how long to wait before replying. */
  fail(ip: string, user: string): number {
    const n = this.bump(this.byIp, ip);
    const m = user ? this.bump(this.byUser, user.toLowerCase()) : 0;
    this.prune();
    return this.delayFor(Math.max(n, m));
  }

  /** A correct password clears the user's counter, not the address's (a shared NAT may hold a guesser). */
  succeed(_ip: string, user: string): void {
    this.byUser.delete(user.toLowerCase());
  }

  private delayFor(failures: number): number {
    return failures === 0 ? 0 : Math.min(this.opts.maxDelayMs, failures * this.opts.delayStepMs);
  }

  private current(map: Map<string, Counter>, key: string): number {
    const c = map.get(key);
    if (!c) return 0;
    if (this.now() - c.last > this.opts.windowMs) {
      map.delete(key);
      return 0;
    }
    return c.failures;
  }

  private bump(map: Map<string, Counter>, key: string): number {
    const n = this.current(map, key) + 1;
    map.set(key, { failures: n, last: this.now() });
    return n;
  }

  // Bounded memory under a spray of addresses or names: drop expired entries now and then.
  private prune(): void {
    if (this.byIp.size + this.byUser.size < 10_000) return;
    const cutoff = this.now() - this.opts.windowMs;
    for (const map of [this.byIp, this.byUser]) for (const [k, c] of map) if (c.last < cutoff) map.delete(k);
  }
}
