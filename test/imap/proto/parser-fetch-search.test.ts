// Table tests: FETCH (RFC 3501 6.4.5) and SEARCH (6.4.4), replayed at chunk sizes 1..512.
import { describe, expect, it } from 'vitest';
import type { Command, FetchAttr, SearchKey } from '../../../src/imap/proto/types.js';
import { bad, command } from './replay.js';

const S1 = [{ from: 1, to: 1 }];

function fetchAttrs(input: string): FetchAttr[] {
  const c = command(input);
  if (c.name !== 'FETCH') throw new Error(c.name);
  return c.attrs;
}

const fetchOk: Array<[string, FetchAttr[]]> = [
  ['a FETCH 1 FLAGS', [{ kind: 'FLAGS' }]],
  [
    'a FETCH 1 (uid rfc822.size Envelope INTERNALDATE BODY BODYSTRUCTURE RFC822 RFC822.HEADER RFC822.TEXT MODSEQ)',
    ['UID', 'RFC822.SIZE', 'ENVELOPE', 'INTERNALDATE', 'BODY', 'BODYSTRUCTURE', 'RFC822', 'RFC822.HEADER', 'RFC822.TEXT', 'MODSEQ'].map(
      (kind) => ({ kind }) as FetchAttr,
    ),
  ],
  ['a FETCH 1 BODY[]', [{ kind: 'BODY[]', peek: false, section: { part: [] }, label: '' }]],
  ['a FETCH 1 body.peek[]<0.1024>', [{ kind: 'BODY[]', peek: true, section: { part: [] }, label: '', partial: { origin: 0, count: 1024 } }]],
  ['a FETCH 1 BODY[header]', [{ kind: 'BODY[]', peek: false, section: { part: [], text: 'HEADER' }, label: 'HEADER' }]],
  ['a FETCH 1 BODY.PEEK[TEXT]<4294967295.1>', [{ kind: 'BODY[]', peek: true, section: { part: [], text: 'TEXT' }, label: 'TEXT', partial: { origin: 4294967295, count: 1 } }]],
  ['a FETCH 1 BODY[1]', [{ kind: 'BODY[]', peek: false, section: { part: [1] }, label: '1' }]],
  ['a FETCH 1 BODY[1.2.3]', [{ kind: 'BODY[]', peek: false, section: { part: [1, 2, 3] }, label: '1.2.3' }]],
  ['a FETCH 1 BODY[1.2.HEADER]', [{ kind: 'BODY[]', peek: false, section: { part: [1, 2], text: 'HEADER' }, label: '1.2.HEADER' }]],
  ['a FETCH 1 BODY[2.mime]', [{ kind: 'BODY[]', peek: false, section: { part: [2], text: 'MIME' }, label: '2.MIME' }]],
  ['a FETCH 1 BODY[3.TEXT]', [{ kind: 'BODY[]', peek: false, section: { part: [3], text: 'TEXT' }, label: '3.TEXT' }]],
  [
    'a FETCH 1 (BODY.PEEK[HEADER.FIELDS (From To "Message-ID")])',
    [{ kind: 'BODY[]', peek: true, section: { part: [], text: 'HEADER.FIELDS', fields: ['From', 'To', 'Message-ID'] }, label: 'HEADER.FIELDS (From To Message-ID)' }],
  ],
  [
    // The grammar case from the brief: astring field names as atom, quoted and literal.
    'a FETCH 1 BODY[1.2.HEADER.FIELDS.NOT (X-A "x-b" {3}\r\nx-c)]<0.100>',
    [
      {
        kind: 'BODY[]',
        peek: false,
        section: { part: [1, 2], text: 'HEADER.FIELDS.NOT', fields: ['X-A', 'x-b', 'x-c'] },
        label: '1.2.HEADER.FIELDS.NOT (X-A x-b x-c)',
        partial: { origin: 0, count: 100 },
      },
    ],
  ],
  [
    // A field name that is not an atom is echoed quoted, so the label still parses.
    'a FETCH 1 BODY[HEADER.FIELDS ("X]{")]',
    [{ kind: 'BODY[]', peek: false, section: { part: [], text: 'HEADER.FIELDS', fields: ['X]{'] }, label: 'HEADER.FIELDS ("X]{")' }],
  ],
  ['a FETCH 1 BINARY[1]', [{ kind: 'BINARY[]', peek: false, section: [1] }]],
  ['a FETCH 1 BINARY.PEEK[]<5.6>', [{ kind: 'BINARY[]', peek: true, section: [], partial: { origin: 5, count: 6 } }]],
  ['a FETCH 1 BINARY.SIZE[2.1]', [{ kind: 'BINARY.SIZE', section: [2, 1] }]],
];

const fetchBad: Array<[string, string]> = [
  ['a FETCH 1 FOO', 'Error in IMAP command FETCH: Unknown fetch item FOO'],
  ['a FETCH 1 ()', 'Error in IMAP command FETCH: Expected at least one item in a fetch item list'],
  ['a FETCH 1 (FLAGS', 'Error in IMAP command FETCH: Missing argument'],
  ['a FETCH 1 (ALL)', 'Error in IMAP command FETCH: Unknown fetch item ALL'],
  ['a FETCH 1 BODY[MIME]', 'Error in IMAP command FETCH: MIME needs a part number (e.g. BODY[1.MIME])'],
  ['a FETCH 1 BODY[HEADER.FIELDS ()]', 'Error in IMAP command FETCH: Expected at least one item in a header field list'],
  ['a FETCH 1 BODY[HEADER.FIELDS]', 'Error in IMAP command FETCH: Expected a single space between arguments'],
  ['a FETCH 1 BODY[HEADER.FIELDS ("a b")]', 'Error in IMAP command FETCH: Invalid header field name'],
  ['a FETCH 1 BODY[0]', 'Error in IMAP command FETCH: Expected a section part number, got 0'],
  ['a FETCH 1 BODY[1.]', 'Error in IMAP command FETCH: Invalid section specifier'],
  ['a FETCH 1 BODY[TEXTS]', 'Error in IMAP command FETCH: Invalid section TEXTS'],
  ['a FETCH 1 BODY[TEXT', 'Error in IMAP command FETCH: Expected "]" to close the section'],
  ['a FETCH 1 BODY[]<0.0>', 'Error in IMAP command FETCH: Expected a partial length, got 0'],
  ['a FETCH 1 BODY[]<1>', 'Error in IMAP command FETCH: Expected "." in a partial range'],
  ['a FETCH 1 BODY.PEEK', 'Error in IMAP command FETCH: BODY.PEEK needs a section'],
  ['a FETCH 1 FLAGS[]', 'Error in IMAP command FETCH: FLAGS takes no section'],
  ['a FETCH 1 ALL FLAGS', 'Error in IMAP command FETCH: Unexpected extra arguments'],
  ['a FETCH 1 (FLAGS) (CHANGEDSINCE 0)', 'Error in IMAP command FETCH: Expected a mod-sequence, got 0'],
  ['a FETCH 1', 'Error in IMAP command FETCH: Missing argument'],
  ['a FETCH 0:3 FLAGS', 'Error in IMAP command FETCH: Expected a sequence number, got 0'],
  ['a FETCH 4294967296 FLAGS', 'Error in IMAP command FETCH: Number out of range: 4294967296'],
  ['a FETCH 99999999999999999999999 FLAGS', 'Error in IMAP command FETCH: Number out of range: 99999999999999999999...'],
];

function searchKey(input: string): SearchKey {
  const c = command(input);
  if (c.name !== 'SEARCH') throw new Error(c.name);
  return c.key;
}
const and = (...keys: SearchKey[]): SearchKey => ({ kind: 'and', keys });

const searchOk: Array<[string, SearchKey]> = [
  ['a SEARCH ALL', and({ kind: 'all' })],
  [
    'a SEARCH answered deleted draft flagged seen unanswered undeleted undraft unflagged unseen',
    and(
      ...(['\\Answered', '\\Deleted', '\\Draft', '\\Flagged', '\\Seen'] as const).map((flag) => ({ kind: 'flag', flag, set: true }) as SearchKey),
      ...(['\\Answered', '\\Deleted', '\\Draft', '\\Flagged', '\\Seen'] as const).map((flag) => ({ kind: 'flag', flag, set: false }) as SearchKey),
    ),
  ],
  ['a SEARCH NEW OLD RECENT', and({ kind: 'new' }, { kind: 'old' }, { kind: 'recent', set: true })],
  ['a SEARCH KEYWORD $Junk UNKEYWORD foo', and({ kind: 'flag', flag: '$Junk', set: true }, { kind: 'flag', flag: 'foo', set: false })],
  [
    'a SEARCH BEFORE 1-Feb-2024 ON "01-feb-2024" SINCE 29-Feb-2024',
    and(
      { kind: 'internaldate', op: 'before', date: '2024-02-01' },
      { kind: 'internaldate', op: 'on', date: '2024-02-01' },
      { kind: 'internaldate', op: 'since', date: '2024-02-29' },
    ),
  ],
  [
    'a SEARCH SENTBEFORE 3-Mar-2020 SENTON 3-Mar-2020 SENTSINCE 3-Mar-2020',
    and(
      { kind: 'sentdate', op: 'before', date: '2020-03-03' },
      { kind: 'sentdate', op: 'on', date: '2020-03-03' },
      { kind: 'sentdate', op: 'since', date: '2020-03-03' },
    ),
  ],
  [
    'a SEARCH FROM alice TO "b o b" CC {3}\r\ncar BCC dan SUBJECT ""',
    and(
      { kind: 'header', field: 'from', value: 'alice' },
      { kind: 'header', field: 'to', value: 'b o b' },
      { kind: 'header', field: 'cc', value: 'car' },
      { kind: 'header', field: 'bcc', value: 'dan' },
      { kind: 'header', field: 'subject', value: '' },
    ),
  ],
  ['a SEARCH HEADER X-Spam-Flag YES', and({ kind: 'header', field: 'x-spam-flag', value: 'YES' })],
  ['a SEARCH BODY {6+}\r\n日本 TEXT x', and({ kind: 'body', value: '日本' }, { kind: 'text', value: 'x' })],
  ['a SEARCH LARGER 1000 SMALLER 4294967295', and({ kind: 'size', op: 'larger', n: 1000 }, { kind: 'size', op: 'smaller', n: 4294967295 })],
  ['a SEARCH 1:3,*:3 UID 5:*', and({ kind: 'seqset', set: [{ from: 1, to: 3 }, { from: '*', to: 3 }] }, { kind: 'uid', set: [{ from: 5, to: '*' }] })],
  [
    // Nested OR/NOT/parentheses (from the brief).
    'a SEARCH OR (FROM a NOT SEEN) UID 1:*,5',
    and({
      kind: 'or',
      a: and({ kind: 'header', field: 'from', value: 'a' }, { kind: 'not', key: { kind: 'flag', flag: '\\Seen', set: true } }),
      b: { kind: 'uid', set: [{ from: 1, to: '*' }, { from: 5, to: 5 }] },
    }),
  ],
  ['a SEARCH NOT NOT (ALL)', and({ kind: 'not', key: { kind: 'not', key: and({ kind: 'all' }) } })],
  ['a SEARCH ((SEEN) 2)', and(and(and({ kind: 'flag', flag: '\\Seen', set: true }), { kind: 'seqset', set: [{ from: 2, to: 2 }] }))],
];

const searchBad: Array<[string, string]> = [
  ['a SEARCH', 'Error in IMAP command SEARCH: Missing argument'],
  ['a SEARCH FOO', 'Error in IMAP command SEARCH: Unknown search key FOO'],
  ['a SEARCH FROM', 'Error in IMAP command SEARCH: Missing argument'],
  ['a SEARCH OR SEEN', 'Error in IMAP command SEARCH: Missing argument'],
  ['a SEARCH ()', 'Error in IMAP command SEARCH: Expected at least one item in a parenthesised search key list'],
  ['a SEARCH (SEEN', 'Error in IMAP command SEARCH: Missing argument'],
  ['a SEARCH SEEN)', 'Error in IMAP command SEARCH: Expected a single space between arguments'],
  ['a SEARCH SINCE 32-Jan-2024', 'Error in IMAP command SEARCH: Invalid date'],
  ['a SEARCH SINCE 1-Foo-2024', 'Error in IMAP command SEARCH: Invalid date (expected d-Mon-yyyy)'],
  ['a SEARCH SINCE 2024-01-01', 'Error in IMAP command SEARCH: Invalid date (expected d-Mon-yyyy)'],
  ['a SEARCH LARGER 4294967296', 'Error in IMAP command SEARCH: Number out of range: 4294967296'],
  ['a SEARCH UID 0', 'Error in IMAP command SEARCH: Expected a sequence number, got 0'],
  ['a SEARCH CHARSET', 'Error in IMAP command SEARCH: Missing argument'],
  ['a SEARCH CHARSET UTF-8', 'Error in IMAP command SEARCH: Missing argument'],
  [`a SEARCH ${'NOT '.repeat(65)}SEEN`, 'Error in IMAP command SEARCH: Search program too deeply nested'],
  [`a SEARCH ${'('.repeat(2000)}`, 'Error in IMAP command SEARCH: Search program too deeply nested'],
];

describe('FETCH grammar', () => {
  it.each(fetchOk)('%j', (input, attrs) => {
    expect(fetchAttrs(input)).toEqual(attrs);
  });

  it.each(fetchBad)('%j is BAD', (input, text) => {
    expect(bad(input)).toBe(text);
  });

  it('macros expand to their items (RFC 3501 6.4.5) and name the macro', () => {
    const fast = [{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }];
    expect(command('a FETCH 1 fast')).toEqual({ name: 'FETCH', uid: false, set: S1, attrs: fast, macro: 'FAST' });
    expect(command('a FETCH 1 ALL')).toEqual({ name: 'FETCH', uid: false, set: S1, attrs: [...fast, { kind: 'ENVELOPE' }], macro: 'ALL' });
    expect(command('a UID FETCH 1 FULL')).toEqual({
      name: 'FETCH',
      uid: true,
      set: S1,
      attrs: [...fast, { kind: 'ENVELOPE' }, { kind: 'BODY' }],
      macro: 'FULL',
    });
  });

  it('sequence sets: *, n:*, *:n, reversed ranges, the largest number', () => {
    const c = command('a UID FETCH *,1:*,*:3,9:2,4294967295 UID') as Extract<Command, { name: 'FETCH' }>;
    expect(c.set).toEqual([
      { from: '*', to: '*' },
      { from: 1, to: '*' },
      { from: '*', to: 3 },
      { from: 9, to: 2 },
      { from: 4294967295, to: 4294967295 },
    ]);
  });
});

describe('SEARCH grammar', () => {
  it.each(searchOk)('%j', (input, key) => {
    expect(searchKey(input)).toEqual(key);
  });

  it.each(searchBad)('%j is BAD', (input, text) => {
    expect(bad(input)).toBe(text);
  });

  it('CHARSET: UTF-8 and US-ASCII, and any other name for the session to refuse with BADCHARSET', () => {
    expect(command('a SEARCH CHARSET utf-8 ALL')).toEqual({ name: 'SEARCH', uid: false, charset: 'UTF-8', key: and({ kind: 'all' }) });
    expect(command('a UID SEARCH CHARSET "US-ASCII" SEEN')).toMatchObject({ uid: true, charset: 'US-ASCII' });
    expect(command('a SEARCH CHARSET KOI8-R TEXT x')).toMatchObject({ charset: 'KOI8-R' });
    // A literal search string carries UTF-8 bytes, CRLF included.
    expect(command('a SEARCH CHARSET UTF-8 TEXT {7}\r\nä\r\nöx')).toMatchObject({ key: and({ kind: 'text', value: 'ä\r\nöx' }) });
  });

  it('ESEARCH result options (RFC 4731 3.1): before CHARSET, each once, RETURN () is ALL, unknown ones BAD', () => {
    expect(command('a SEARCH RETURN (min MAX COUNT min) FLAGGED')).toEqual({ name: 'SEARCH', uid: false, key: and({ kind: 'flag', flag: '\\Flagged', set: true }), return: ['MIN', 'MAX', 'COUNT'] });
    expect(command('a UID SEARCH RETURN () CHARSET UTF-8 ALL')).toEqual({ name: 'SEARCH', uid: true, charset: 'UTF-8', key: and({ kind: 'all' }), return: ['ALL'] });
    // RECENT starts with R too: only the word RETURN opens result options.
    expect(command('a SEARCH RECENT')).toEqual({ name: 'SEARCH', uid: false, key: and({ kind: 'recent', set: true }) });
    expect(bad('a SEARCH RETURN (SAVE) ALL')).toBe('Error in IMAP command SEARCH: Unknown SEARCH return option SAVE');
    expect(bad('a SEARCH RETURN (MIN)')).toBe('Error in IMAP command SEARCH: Missing argument');
  });
});
