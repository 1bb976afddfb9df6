// The one password check every access protocol goes through: throttle, directory, log.
// Protocol modules map the outcome to their own reply (IMAP NO [AUTHENTICATIONFAILED],
// POP3 -ERR [AUTH], SMTP 535 5.7.8).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Directory, UserRecord } from '../directory/types.js';
import type { AuthThrottle } from './throttle.js';

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
  /** 'imap' | 'pop3' | 'submission', for the log line. */
  service: string;
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
    log.warn({ user: name, service: attempt.service }, 'auth throttled');
    await sleep(verdict.delayMs);
    return { ok: false, reason: 'throttled' };
  }
  const user =
    name.includes('\0') || (attempt.authzid && attempt.authzid.toLowerCase() !== name)
      ? null
      : await directory.authenticate(name, attempt.password);
  if (!user) {
    const delay = throttle.fail(attempt.ip, name);
    log.info({ user: name, service: attempt.service }, 'auth failed');
    await sleep(delay);
    return { ok: false, reason: 'invalid' };
  }
  throttle.succeed(attempt.ip, name);
  return { ok: true, user };
}
