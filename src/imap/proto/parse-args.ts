// Argument grammar shared by several commands: mailbox names, flags, dates. Pure.
import { decodeMutf7 } from '../../maildir/utf7.js';
import { clip, type Cursor, isListChar } from './tokens.js';
import type { FlagName, StatusItem } from './types.js';

/**
 * Cursors of sessions that enabled UTF8=ACCEPT (RFC 6855 3): their mailbox names are UTF-8
 * as written, with no modified UTF-7 decoding (as IMAP4rev2, RFC 9051 5.1, reads them), so
 * `Tom&Jerry` is that name and not a broken shift sequence. The parser marks a cursor when
 * the session asks for it (ParseOptions.utf8Names).
 */
const UTF8_NAMES = new WeakSet<Cursor>();

export function acceptUtf8Names(c: Cursor): void {
  UTF8_NAMES.add(c);
}

/**
 * mailbox = "INBOX" / astring (RFC 3501 9), decoded from modified UTF-7 into UTF-8.
 * INBOX is case-insensitive as a whole name only (RFC 3501 5.1); `inbox/sub` is left as is.
 * Names that are not valid modified UTF-7 (8-bit bytes, NUL, a bad `&...-` run) are a BAD:
 * RFC 3501 5.1.3 says a server should refuse them, and a name the client cannot have meant
 * is a syntax problem, not a missing mailbox.
 */
export function parseMailbox(c: Cursor, what = 'a mailbox name'): string {
  const raw = c.astring(what);
  const name = decodeMailboxBytes(c, raw);
  return name.toUpperCase() === 'INBOX' ? 'INBOX' : name;
}

function decodeMailboxBytes(c: Cursor, raw: Buffer): string {
  if (UTF8_NAMES.has(c)) {
    if (raw.includes(0)) c.fail('NUL in mailbox name');
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      return c.fail('Mailbox name is not valid UTF-8 (RFC 6855 3)');
    }
  }
  for (const b of raw) {
    if (b === 0) c.fail('NUL in mailbox name');
    if (b >= 0x80) c.fail('Mailbox name is not valid modified UTF-7 (8-bit bytes; RFC 3501 5.1.3)');
  }
  try {
    return decodeMutf7(raw.toString('latin1'));
  } catch {
    return c.fail('Mailbox name is not valid modified UTF-7 (RFC 3501 5.1.3)');
  }
}

/** LIST/LSUB reference: a mailbox name, possibly empty; INBOX is not canonicalised here. */
export function parseListReference(c: Cursor): string {
  return decodeMailboxBytes(c, c.astring('a reference name'));
}

/** list-mailbox = 1*list-char / string: `%` and `*` may appear unquoted (RFC 3501 9). */
export function parseListPattern(c: Cursor): string {
  const p = c.peek();
  if (p === 0x22 || c.isLiteralStart()) return decodeMailboxBytes(c, c.string('a mailbox pattern'));
  const text = c.take(isListChar);
  if (text === '') c.fail('Expected a mailbox pattern');
  return decodeMailboxBytes(c, Buffer.from(text, 'latin1'));
}

const STATUS_ITEMS = new Set<StatusItem>(['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'SIZE', 'HIGHESTMODSEQ', 'APPENDLIMIT']);

/** status-att-list = "(" status-att *(SP status-att) ")" (RFC 3501 9; SIZE RFC 8438, APPENDLIMIT RFC 7889); STATUS and LIST-STATUS. */
export function parseStatusItems(c: Cursor): StatusItem[] {
  const items = c.list(
    () => {
      const item = c.keyword('a status item') as StatusItem;
      if (!STATUS_ITEMS.has(item)) c.fail(`Unknown STATUS item ${clip(item)}`);
      return item;
    },
    false,
    'a status item list',
  );
  return [...new Set(items)];
}

const SYSTEM_FLAGS = new Map(['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'].map((f) => [f.toUpperCase(), f]));

/**
 * flag (RFC 3501 9): a system flag, canonicalised to its usual spelling, or a keyword atom
 * kept as written. `\Recent` cannot be set by a client, and no other `\`-extension flag is
 * defined, so both are a BAD.
 */
export function parseFlag(c: Cursor): FlagName {
  if (c.eat(0x5c)) {
    const name = c.atom('a flag name');
    const sys = SYSTEM_FLAGS.get(`\\${name.toUpperCase()}`);
    if (!sys) c.fail(`Invalid system flag \\${clip(name)}`);
    return sys;
  }
  return c.atom('a flag');
}

/** flag-list = "(" [flag *(SP flag)] ")" */
export function parseFlagList(c: Cursor): FlagName[] {
  return c.list(() => parseFlag(c), true, 'a flag list');
}

export const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

function daysIn(month: number, year: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

/**
 * date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
 * (RFC 3501 9), e.g. `"17-Jul-1996 02:44:25 -0700"`, as an absolute instant.
 */
export function parseDateTime(c: Cursor): Date {
  const text = c.quoted().toString('latin1');
  // date-day-fixed is " 7" or "07"; a bare "7" is accepted too (some clients drop the padding).
  const m = /^( ?\d|\d{2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(text);
  if (!m) c.fail('Invalid date-time (expected "dd-Mon-yyyy hh:mm:ss +zzzz")');
  const day = Number(m[1]!.trim());
  const month = MONTHS.indexOf(m[2]!.toUpperCase());
  const year = Number(m[3]);
  const [h, mi, s, zh, zm] = [m[4], m[5], m[6], m[8], m[9]].map(Number) as [number, number, number, number, number];
  if (month < 0 || day < 1 || day > daysIn(month, year) || h > 23 || mi > 59 || s > 60 || zm > 59) {
    c.fail('Invalid date-time');
  }
  const offset = (m[7] === '-' ? -1 : 1) * (zh * 60 + zm);
  return new Date(Date.UTC(year, month, day, h, mi, Math.min(s, 59)) - offset * 60_000);
}

/** date = date-text / DQUOTE date-text DQUOTE; date-text = 1*2DIGIT "-" Mon "-" 4DIGIT → 'YYYY-MM-DD'. */
export function parseSearchDate(c: Cursor): string {
  const text = c.peek() === 0x22 ? c.quoted().toString('latin1') : c.atom('a date');
  const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(text);
  const month = m ? MONTHS.indexOf(m[2]!.toUpperCase()) : -1;
  if (!m || month < 0) return c.fail('Invalid date (expected d-Mon-yyyy)');
  const day = Number(m[1]);
  const year = Number(m[3]);
  if (day < 1 || day > daysIn(month, year)) c.fail('Invalid date');
  return `${m[3]}-${String(month + 1).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}
