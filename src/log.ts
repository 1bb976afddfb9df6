// One pino logger for the process; a child per session carries svc/sid/remote so one
// grep on the session id shows a whole conversation.
import { randomBytes } from 'node:crypto';
import pino from 'pino';

/**
 * Field names that may carry credentials wherever they appear one or two levels down
 * (`{ password }`, `{ auth: { pass } }`, `{ headers: { authorization } }`).
 */
const SECRET_FIELDS = [
  'password',
  'pass',
  'passwd',
  'newPassword',
  'authorization',
  'apiKey',
  'apikey',
  'api_key',
  'secret',
  'token',
  'accessToken',
  'privateKey',
  'cookie',
];

export const REDACT_PATHS = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);

export function createLogger(config: { level: string }, destination?: pino.DestinationStream): pino.Logger {
  return pino(
    {
      level: config.level,
      // No base `svc`: children set their own, and pino would print the key twice.
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      // Labels instead of numbers: readable with plain `jq`/`grep` on a small install.
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    // Asynchronous stdout: a slow reader (journald, a full pipe) must not stall sessions.
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

export interface SessionFields {
  svc: string;
  sid: string;
  remote?: string;
}

export function sessionLogger(parent: pino.Logger, fields: SessionFields): pino.Logger {
  const bindings: Record<string, string> = { svc: fields.svc, sid: fields.sid };
  if (fields.remote !== undefined) bindings.remote = fields.remote;
  return parent.child(bindings);
}

// RFC 4648 base32 alphabet in lower case, without padding: no 0/1/8/9 to confuse with O/I/B/g.
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** 10 characters = 50 random bits: unique enough to grep a day of logs, short in a reply. */
export function newSessionId(): string {
  const bytes = randomBytes(10);
  let out = '';
  for (const b of bytes) out += ALPHABET[b & 31];
  return out;
}
