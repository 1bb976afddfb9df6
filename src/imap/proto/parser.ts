// IMAP command grammar (RFC 3501 9 and the extensions we announce): one complete request
// (line pieces + literals, as the receiver collects them) → a typed `Request`. Pure.
// Every syntax problem becomes `{ ok: false, error }`, answered `<tag> BAD <error>` by the
// session; nothing here throws to the caller.
//
// Choices the RFCs leave open (the tests pin each one):
// - Mailbox names are decoded from modified UTF-7; an invalid one is BAD (parse-args.ts).
//   `INBOX` is canonicalised only as a whole name. LIST/LSUB patterns are decoded too.
// - Tags are at most 64 characters; a line without a valid tag is an untagged BAD.
// - FETCH macros come back expanded in `attrs`, with `macro` naming them. A BODY[] item's
//   `label` is the text between the brackets; the FETCH response builder appends
//   `<origin>` for a partial (RFC 3501 7.4.2), the label never carries it.
// - SEARCH keys always come back as one `and`; FROM/TO/CC/BCC/SUBJECT become `header`
//   keys, and header names are lower-cased.
// - Quoted strings may carry UTF-8 bytes (clients send them in LOGIN and SEARCH even
//   without UTF8=ACCEPT); mailbox names may not.
import { acceptUtf8Names, parseFlag, parseFlagList, parseMailbox, parseStatusItems } from './parse-args.js';
import { parseAppend, parseCreate } from './parse-create-append.js';
import { parseSearchCommand } from './parse-esearch.js';
import { parseFetch } from './parse-fetch.js';
import { parseSelect, parseStoreModifiers } from './parse-modifiers.js';
import { parseCompress } from './parse-compress.js';
import { parseListCommand } from './parse-list.js';
import { parseGetQuota, parseGetQuotaRoot, parseSetQuota } from './parse-quota.js';
import { parseSort, parseThread } from './parse-sort.js';
import { parseSequenceSet } from './sequence.js';
import { clip, Cursor, isTagChar, ParseError, type RawRequest, utf8 } from './tokens.js';
import type { Command, Request } from './types.js';

export type { RawRequest } from './tokens.js';

type Parse = (c: Cursor) => Command;

/** RFC 2971 3.3: at most 30 pairs, field names up to 30 octets, values up to 1024. */
const ID_MAX_PAIRS = 30;

function noArgs(name: 'CAPABILITY' | 'NOOP' | 'LOGOUT' | 'STARTTLS' | 'NAMESPACE' | 'IDLE' | 'CHECK' | 'CLOSE' | 'UNSELECT' | 'EXPUNGE'): Parse {
  return (c) => {
    c.end();
    return { name };
  };
}

function oneMailbox(name: 'SELECT' | 'EXAMINE' | 'DELETE' | 'SUBSCRIBE' | 'UNSUBSCRIBE'): Parse {
  return (c) => {
    c.sp();
    const mailbox = parseMailbox(c);
    c.end();
    return { name, mailbox };
  };
}

/** A string argument that must not carry NUL (user names, passwords: RFC 3501 9 CHAR8 excludes %x00). */
function textArg(c: Cursor, what: string): string {
  const b = c.astring(what);
  if (b.includes(0)) c.fail(`NUL in ${what}`);
  return utf8(b);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function parseAuthenticate(c: Cursor): Command {
  c.sp();
  const mechanism = c.keyword('a SASL mechanism name');
  if (!c.maybeSp()) {
    c.end();
    return { name: 'AUTHENTICATE', mechanism };
  }
  // SASL-IR (RFC 4959 3): initial-response = base64 / "=" (an empty response).
  const initial = c.take((b) => b > 0x20 && b < 0x7f);
  if (initial === '' || (initial !== '=' && !BASE64.test(initial))) c.fail('Invalid base64 initial response');
  c.end();
  return { name: 'AUTHENTICATE', mechanism, initial };
}

function parseLogin(c: Cursor): Command {
  c.sp();
  const username = textArg(c, 'a user name');
  c.sp();
  const password = textArg(c, 'a password');
  c.end();
  return { name: 'LOGIN', username, password };
}

/** id = "ID" SP id-params-list; id-params-list = "(" *(string SP nstring) ")" / nil (RFC 2971 4). */
function parseId(c: Cursor): Command {
  c.sp();
  if (c.peek() !== 0x28) {
    if (c.keyword('NIL or a parameter list') !== 'NIL') c.fail('Expected NIL or a parameter list');
    c.end();
    return { name: 'ID', params: null };
  }
  c.pos++;
  const params: Array<[string, string | null]> = [];
  if (!c.eat(0x29)) {
    for (;;) {
      const key = c.string('an ID field name');
      c.sp();
      const value = c.nstring('an ID value or NIL');
      if (key.length > 30 || (value && value.length > 1024)) c.fail('ID field too long (RFC 2971 3.3)');
      params.push([utf8(key), value === null ? null : utf8(value)]);
      if (params.length > ID_MAX_PAIRS) c.fail('Too many ID fields (RFC 2971 3.3)');
      if (c.eat(0x29)) break;
      c.sp();
    }
  }
  c.end();
  return { name: 'ID', params };
}

function parseEnable(c: Cursor): Command {
  const capabilities: string[] = [];
  do {
    c.sp();
    capabilities.push(c.keyword('a capability name'));
  } while (!c.atEnd());
  return { name: 'ENABLE', capabilities };
}

function parseRename(c: Cursor): Command {
  c.sp();
  const from = parseMailbox(c);
  c.sp();
  const to = parseMailbox(c);
  c.end();
  return { name: 'RENAME', from, to };
}

function parseStatus(c: Cursor): Command {
  c.sp();
  const mailbox = parseMailbox(c);
  c.sp();
  const items = parseStatusItems(c);
  c.end();
  return { name: 'STATUS', mailbox, items };
}

/** store = "STORE" SP sequence-set SP store-att-flags; ["+"/"-"] "FLAGS" [".SILENT"] SP (flag-list / flag *(SP flag)) */
function parseStore(c: Cursor, uid: boolean): Command {
  c.sp();
  const set = parseSequenceSet(c);
  c.sp();
  const { unchangedSince } = parseStoreModifiers(c); // RFC 7162 3.1.3
  const op = c.eat(0x2b) ? 'add' : c.eat(0x2d) ? 'remove' : 'set';
  const item = c.keyword('FLAGS or FLAGS.SILENT');
  if (item !== 'FLAGS' && item !== 'FLAGS.SILENT') c.fail(`Invalid STORE item ${clip(item)}`);
  c.sp();
  let flags: string[];
  if (c.peek() === 0x28) flags = parseFlagList(c);
  else {
    flags = [parseFlag(c)];
    while (c.maybeSp()) flags.push(parseFlag(c));
  }
  c.end();
  const cmd: Command = { name: 'STORE', uid, set, op, silent: item === 'FLAGS.SILENT', flags };
  if (unchangedSince !== undefined) cmd.unchangedSince = unchangedSince;
  return cmd;
}

function parseCopyMove(name: 'COPY' | 'MOVE', uid: boolean): Parse {
  return (c) => {
    c.sp();
    const set = parseSequenceSet(c);
    c.sp();
    const mailbox = parseMailbox(c);
    c.end();
    return { name, uid, set, mailbox };
  };
}

function parseUid(c: Cursor): Command {
  c.sp();
  const sub = c.keyword('a UID command');
  switch (sub) {
    case 'FETCH':
      return parseFetch(c, true);
    case 'SEARCH':
      return parseSearchCommand(c, true);
    case 'SORT':
      return parseSort(c, true);
    case 'THREAD':
      return parseThread(c, true);
    case 'STORE':
      return parseStore(c, true);
    case 'COPY':
    case 'MOVE':
      return parseCopyMove(sub, true)(c);
    case 'EXPUNGE': {
      // RFC 4315 2.1
      c.sp();
      const set = parseSequenceSet(c);
      c.end();
      return { name: 'UID EXPUNGE', set };
    }
    default:
      return c.fail(`Unknown UID command ${clip(sub)}`);
  }
}

const COMMANDS: Record<string, Parse> = {
  CAPABILITY: noArgs('CAPABILITY'),
  NOOP: noArgs('NOOP'),
  LOGOUT: noArgs('LOGOUT'),
  STARTTLS: noArgs('STARTTLS'),
  NAMESPACE: noArgs('NAMESPACE'),
  IDLE: noArgs('IDLE'),
  CHECK: noArgs('CHECK'),
  CLOSE: noArgs('CLOSE'),
  UNSELECT: noArgs('UNSELECT'),
  EXPUNGE: noArgs('EXPUNGE'),
  ID: parseId,
  ENABLE: parseEnable,
  AUTHENTICATE: parseAuthenticate,
  LOGIN: parseLogin,
  SELECT: parseSelect('SELECT'),
  EXAMINE: parseSelect('EXAMINE'),
  CREATE: parseCreate,
  DELETE: oneMailbox('DELETE'),
  SUBSCRIBE: oneMailbox('SUBSCRIBE'),
  UNSUBSCRIBE: oneMailbox('UNSUBSCRIBE'),
  RENAME: parseRename,
  LIST: parseListCommand('LIST'),
  LSUB: parseListCommand('LSUB'),
  STATUS: parseStatus,
  APPEND: parseAppend,
  SEARCH: (c) => parseSearchCommand(c, false),
  FETCH: (c) => parseFetch(c, false),
  SORT: (c) => parseSort(c, false),
  THREAD: (c) => parseThread(c, false),
  STORE: (c) => parseStore(c, false),
  COPY: parseCopyMove('COPY', false),
  MOVE: parseCopyMove('MOVE', false),
  UID: parseUid,
  COMPRESS: parseCompress,
  GETQUOTA: parseGetQuota,
  GETQUOTAROOT: parseGetQuotaRoot,
  SETQUOTA: parseSetQuota,
};

/** The tag of a request line (bytes up to the first SP), or null when it is not a valid tag. */
export function readTag(line: Buffer): string | null {
  let i = 0;
  while (i < line.length && isTagChar(line[i]!)) i++;
  if (i === 0 || i > 64 || (i < line.length && line[i] !== 0x20)) return null;
  return line.toString('latin1', 0, i);
}

export interface ParseOptions {
  /** Atoms, strings and literals per request (imap.maxArgs); unlimited when absent. */
  maxArgs?: number;
  /** UTF8=ACCEPT is enabled: mailbox names are UTF-8, not modified UTF-7 (RFC 6855 3). */
  utf8Names?: boolean;
}

/** Parse one complete request. Throws only on a bug (the receiver's fuzz test hunts for those). */
export function parseRequest(raw: RawRequest, opts: ParseOptions = {}): Request {
  const first = raw.lines[0] ?? Buffer.alloc(0);
  const tag = readTag(first);
  if (tag === null) return { tag: null, ok: false, error: 'Invalid tag' };
  const c = new Cursor(raw, opts.maxArgs);
  if (opts.utf8Names) acceptUtf8Names(c);
  c.pos = tag.length;
  let name = '';
  try {
    c.sp();
    name = c.keyword('a command name');
    const parse = COMMANDS[name];
    if (!parse) return { tag, ok: false, error: `Unknown command ${clip(name)}` };
    return { tag, ok: true, command: parse(c) };
  } catch (e) {
    if (e instanceof ParseError) {
      return { tag, ok: false, error: name ? `Error in IMAP command ${name}: ${e.message}` : e.message };
    }
    throw e;
  }
}
