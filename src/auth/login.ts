// The one password check every access protocol goes through: throttle, directory, log.
// Protocol modules map the outcome to their own reply (IMAP NO [AUTHENTICATIONFAILED],
// POP3 -ERR [AUTH], SMTP 535 5.7.8).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Directory, UserRecord } from '../directory/types.js';
import type { AuthThrottle } from './throttle.js';
import { metrics, type Protocol } from '../metrics/index.js';

export type LoginOutcome =
  | { ok: true; user: UserRecord }
  /** `throttled`: too many recent failures; `invalid`: wrong name/password, disabled user or domain. */
  | { ok: false; reason: 'throttled' | 'invalid' };

export interface LoginAttempt {
  ip: string;
  username: string;
  password: string;
  /** SASL authorization identity; only empty or equal to the user is accepted (no proxy auth). */
  authzid?: string;
  /** For the log line and the auth-failure metric. */
  service: Extract<Protocol, 'imap' | 'pop3' | 'submission'>;
}

// Password hashes (argon2, bcrypt) run on libuv's thread pool, which file I/O shares (4 threads
// by default). A burst of logins, or a guessing client that disconnects and reconnects, must
// not occupy every thread and stall deliveries: at most two checks run at once, a bounded
// queue waits, and past that the attempt is refused like a throttled one.
const MAX_CONCURRENT_CHECKS = 2;
const MAX_WAITING_CHECKS = 200;
let running = 0;
const waiting: Array<() => void> = [];

async function withCheckSlot<T>(fn: () => Promise<T>): Promise<T | 'busy'> {
  if (running >= MAX_CONCURRENT_CHECKS) {
    if (waiting.length >= MAX_WAITING_CHECKS) return 'busy';
    await new Promise<void>((r) => waiting.push(r));
  } else {
    running++;
  }
  try {
    return await fn();
  } finally {
    const next = waiting.shift();
    // The slot passes straight to the next waiter, so `running` stays counted.
    if (next) next();
    else running--;
  }
}

export async function passwordLogin(
  directory: Directory,
  throttle: AuthThrottle,
  attempt: LoginAttempt,
  log: Logger,
): Promise<LoginOutcome> {
  const name = attempt.username.trim().toLowerCase();
  const verdict = throttle.check(attempt.ip, name);
  if (!verdict.allowed) {
    metrics.authFailures.inc({ protocol: attempt.service });
    log.warn({ user: name, service: attempt.service }, 'auth throttled');
    await sleep(verdict.delayMs);
    return { ok: false, reason: 'throttled' };
  }
  const user =
    name.includes('\0') || (attempt.authzid && attempt.authzid.toLowerCase() !== name)
      ? null
      : await withCheckSlot(() => directory.authenticate(name, attempt.password));
  if (user === 'busy') {
    metrics.authFailures.inc({ protocol: attempt.service });
    log.warn({ user: name, service: attempt.service }, 'auth refused: too many password checks waiting');
    return { ok: false, reason: 'throttled' };
  }
  if (!user) {
    const delay = throttle.fail(attempt.ip, name);
    metrics.authFailures.inc({ protocol: attempt.service });
    log.info({ user: name, service: attempt.service }, 'auth failed');
    await sleep(delay);
    return { ok: false, reason: 'invalid' };
  }
  throttle.succeed(attempt.ip, name);
  return { ok: true, user };
}
