// SEARCH arguments (RFC 3501 6.4.4, 9 `search`). Pure.
// Strings are astrings or literals; their bytes are taken as UTF-8 (the only charsets we
// accept are UTF-8 and its subset US-ASCII; for any other CHARSET the parser still returns
// the command and the session answers NO [BADCHARSET], RFC 3501 6.4.4).
import { parseFlag, parseSearchDate } from './parse-args.js';
import { parseSearchModseq } from './parse-modifiers.js';
import { parseSequenceSet } from './sequence.js';
import { clip, type Cursor, utf8 } from './tokens.js';
import type { Command, SearchKey } from './types.js';

/** Deepest NOT/OR/parenthesis nesting accepted, so a hostile line cannot exhaust the stack. */
export const MAX_SEARCH_DEPTH = 64;

const FLAG_KEYS: Record<string, [string, boolean]> = {
  ANSWERED: ['\\Answered', true],
  DELETED: ['\\Deleted', true],
  DRAFT: ['\\Draft', true],
  FLAGGED: ['\\Flagged', true],
  SEEN: ['\\Seen', true],
  UNANSWERED: ['\\Answered', false],
  UNDELETED: ['\\Deleted', false],
  UNDRAFT: ['\\Draft', false],
  UNFLAGGED: ['\\Flagged', false],
  UNSEEN: ['\\Seen', false],
};

const DATE_KEYS: Record<string, ['internaldate' | 'sentdate', 'before' | 'on' | 'since']> = {
  BEFORE: ['internaldate', 'before'],
  ON: ['internaldate', 'on'],
  SINCE: ['internaldate', 'since'],
  SENTBEFORE: ['sentdate', 'before'],
  SENTON: ['sentdate', 'on'],
  SENTSINCE: ['sentdate', 'since'],
};

/** Address and subject keys search that header field (lower-case names throughout). */
const HEADER_KEYS = new Set(['BCC', 'CC', 'FROM', 'SUBJECT', 'TO']);

function searchString(c: Cursor): string {
  c.sp();
  return utf8(c.astring('a search string'));
}

function searchKey(c: Cursor, depth: number): SearchKey {
  if (depth > MAX_SEARCH_DEPTH) c.fail('Search program too deeply nested');
  const p = c.peek();
  if (p === 0x28) {
    return { kind: 'and', keys: c.list(() => searchKey(c, depth + 1), false, 'a parenthesised search key list') };
  }
  if (p === 0x2a || (p >= 0x30 && p <= 0x39)) return { kind: 'seqset', set: parseSequenceSet(c) };
  const word = c.keyword('a search key');
  const flag = FLAG_KEYS[word];
  if (flag) return { kind: 'flag', flag: flag[0], set: flag[1] };
  const date = DATE_KEYS[word];
  if (date) {
    c.sp();
    return { kind: date[0], op: date[1], date: parseSearchDate(c) };
  }
  if (HEADER_KEYS.has(word)) return { kind: 'header', field: word.toLowerCase(), value: searchString(c) };
  switch (word) {
    case 'ALL':
      return { kind: 'all' };
    case 'NEW':
      return { kind: 'new' };
    case 'OLD':
      return { kind: 'old' };
    case 'RECENT':
      return { kind: 'recent', set: true };
    case 'BODY':
      return { kind: 'body', value: searchString(c) };
    case 'TEXT':
      return { kind: 'text', value: searchString(c) };
    case 'HEADER': {
      c.sp();
      const field = utf8(c.astring('a header field name')).toLowerCase();
      return { kind: 'header', field, value: searchString(c) };
    }
    case 'KEYWORD':
    case 'UNKEYWORD': {
      c.sp();
      // flag-keyword is an atom; a system flag here is accepted too (Dovecot does the same).
      return { kind: 'flag', flag: parseFlag(c), set: word === 'KEYWORD' };
    }
    case 'LARGER':
    case 'SMALLER':
      c.sp();
      return { kind: 'size', op: word === 'LARGER' ? 'larger' : 'smaller', n: c.number('a size') };
    case 'UID':
      c.sp();
      return { kind: 'uid', set: parseSequenceSet(c) };
    case 'MODSEQ': // RFC 7162 3.1.5
      return { kind: 'modseq', n: parseSearchModseq(c) };
    case 'NOT':
      c.sp();
      return { kind: 'not', key: searchKey(c, depth + 1) };
    case 'OR': {
      c.sp();
      const a = searchKey(c, depth + 1);
      c.sp();
      return { kind: 'or', a, b: searchKey(c, depth + 1) };
    }
    default:
      return c.fail(`Unknown search key ${clip(word)}`);
  }
}

/**
 * search = "SEARCH" [SP "CHARSET" SP astring] 1*(SP search-key). The keys are returned as
 * one `and` (RFC 3501 6.4.4: multiple keys are ANDed), even when there is only one.
 */
export function parseSearch(c: Cursor, uid: boolean): Command {
  c.sp();
  let charset: string | undefined;
  const save = c.pos;
  const p = c.peek() | 0x20;
  if (p >= 0x61 && p <= 0x7a && c.keyword('a search key') === 'CHARSET') {
    c.sp();
    charset = utf8(c.astring('a charset name')).toUpperCase();
    c.sp();
  } else {
    c.pos = save;
  }
  const keys: SearchKey[] = [searchKey(c, 0)];
  while (!c.atEnd()) {
    c.sp();
    keys.push(searchKey(c, 0));
  }
  const cmd: Command = { name: 'SEARCH', uid, key: { kind: 'and', keys } };
  if (charset !== undefined) cmd.charset = charset;
  return cmd;
}
