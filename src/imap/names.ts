// Mailbox names between the client and the store. The store speaks UTF-8 with '/' between
// levels; the client sees `imap.hierarchyDelimiter` ('.' as Dovecot's Maildir++ default, or
// '/'). A name containing the other character is refused: with '.', "a/b" would come back
// as "a.b" and could not round-trip; with '/', the store cannot put '.' in a Maildir++ level.
// The parser has already decoded modified UTF-7 (RFC 3501 5.1.3).
import { ImapNo } from './errors.js';
import { mailboxString } from './response.js';

export type Delimiter = '.' | '/';

const CONTROL = /[\u0000-\u001f\u007f]/;

export interface NameOptions {
  /** CREATE: a trailing delimiter declares intent to create children (RFC 3501 6.3.3) and is dropped. */
  allowTrailingDelimiter?: boolean;
  /** CREATE/RENAME target: wildcards would make the name unlistable (RFC 3501 6.3.8). */
  forbidWildcards?: boolean;
}

/** Client name → store name; throws ImapNo [CANNOT] with the reason. */
export function toStoreName(client: string, delim: Delimiter, opts: NameOptions = {}): string {
  let name = client;
  if (name.length === 0) throw new ImapNo('Mailbox name is empty', 'CANNOT');
  if (name.includes('\0') || CONTROL.test(name)) throw new ImapNo('Mailbox name contains control characters', 'CANNOT');
  if (opts.forbidWildcards && /[*%]/.test(name)) throw new ImapNo("Mailbox name contains '*' or '%'", 'CANNOT');
  if (opts.allowTrailingDelimiter && name.length > 1 && name.endsWith(delim)) name = name.slice(0, -1);
  const other = delim === '.' ? '/' : '.';
  if (name.includes(other)) throw new ImapNo(`Mailbox name contains '${other}', which this server cannot store`, 'CANNOT');
  const levels = name.split(delim);
  if (levels.some((l) => l.length === 0)) {
    throw new ImapNo('Mailbox name has an empty level (leading, trailing or doubled delimiter)', 'CANNOT');
  }
  if (levels.some((l) => l === '..' || l === '.')) throw new ImapNo("Mailbox name contains '..'", 'CANNOT');
  if (levels[0]!.toUpperCase() === 'INBOX') levels[0] = 'INBOX'; // RFC 3501 5.1
  return levels.join('/');
}

/** Store name → client name. */
export function toClientName(store: string, delim: Delimiter): string {
  return delim === '/' ? store : store.split('/').join(delim);
}

/**
 * LIST/LSUB pattern (RFC 3501 6.3.8): the reference and the pattern are joined; `*` matches
 * anything, `%` anything but the delimiter. INBOX matches case-insensitively.
 */
export function listMatcher(reference: string, pattern: string, delim: Delimiter): (clientName: string) => boolean {
  const joined = pattern.startsWith(delim) && reference.endsWith(delim) ? reference + pattern.slice(1) : reference + pattern;
  const full = normalizeInboxPattern(joined, delim);
  const esc = (c: string) => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  let src = '';
  for (const ch of full) {
    if (ch === '*') src += '.*';
    else if (ch === '%') src += `[^${esc(delim)}]*`;
    else src += esc(ch);
  }
  const re = new RegExp(`^${src}$`, 's');
  return (name) => re.test(name);
}

/** Case-normalises an INBOX prefix in a pattern so `inbox%` finds INBOX (RFC 3501 5.1). */
export function normalizeInboxPattern(full: string, delim: Delimiter): string {
  const m = /^inbox/i.exec(full);
  if (!m) return full;
  const rest = full.slice(5);
  if (rest === '' || rest.startsWith(delim) || rest[0] === '*' || rest[0] === '%') return 'INBOX' + rest;
  return full;
}

/**
 * A mailbox name for a response line. After ENABLE UTF8=ACCEPT it is sent as UTF-8 (RFC 6855
 * 3: the server must not send modified UTF-7 then); before, as modified UTF-7 (RFC 3501
 * 5.1.3). Quoted when short, a literal otherwise.
 */
export function mailboxOut(clientName: string, utf8: boolean): string {
  if (!utf8) return mailboxString(clientName);
  const bytes = Buffer.byteLength(clientName, 'utf8');
  if (bytes < 1024 && !CONTROL.test(clientName)) return `"${clientName.replace(/[\\"]/g, '\\$&')}"`;
  return `{${bytes}}\r\n${clientName}`;
}
