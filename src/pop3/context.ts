// What every POP3 session of both listeners shares: the store, the one password check and
// its throttle, TLS, the maildrop locks and the limits from `pop3` in the config.
import type { Logger } from 'pino';
import type { AuthThrottle } from '../auth/throttle.js';
import type { Directory } from '../directory/types.js';
import type { MailStore } from '../maildir/types.js';
import type { TlsManager } from '../tls/manager.js';
import type { MaildropLocks } from './lock.js';

export interface Pop3Limits {
  /** Longest command line, CRLF excluded. */
  maxLineBytes: number;
  /** Invalid commands (unknown, bad syntax, wrong state, bad message number) before disconnect. */
  maxBadCommands: number;
  /** Commands in the AUTHORIZATION state before disconnect (a client that never logs in). */
  maxCommandsBeforeLogin: number;
}

export interface Pop3Context {
  store: MailStore;
  directory: Directory;
  throttle: AuthThrottle;
  tls: TlsManager;
  hostname: string;
  loopbackIsSecure: boolean;
  limits: Pop3Limits;
  locks: MaildropLocks;
  logger: Logger;
}
