// SORT/THREAD grammar (RFC 5256 5, RFC 5957 5): table rows replayed through the receiver at
// every chunk size (replay.ts), and seeded mutations of them that must never throw.
import { describe, expect, it } from 'vitest';
import { Receiver } from '../../../src/imap/proto/receiver.js';
import type { Command, SearchKey } from '../../../src/imap/proto/types.js';
import { mulberry32 } from '../../helpers/fuzz.js';
import { bad, command, LIMITS } from './replay.js';

const ALL: SearchKey = { kind: 'and', keys: [{ kind: 'all' }] };

const ok: Array<[string, Command]> = [
  ['a SORT (DATE) UTF-8 ALL', { name: 'SORT', uid: false, criteria: [{ key: 'DATE', reverse: false }], charset: 'UTF-8', key: ALL }],
  [
    'a uid sort (reverse arrival Subject displayFROM reverse DISPLAYTO cc to from size) us-ascii ALL',
    {
      name: 'SORT',
      uid: true,
      criteria: [
        { key: 'ARRIVAL', reverse: true },
        { key: 'SUBJECT', reverse: false },
        { key: 'DISPLAYFROM', reverse: false },
        { key: 'DISPLAYTO', reverse: true },
        { key: 'CC', reverse: false },
        { key: 'TO', reverse: false },
        { key: 'FROM', reverse: false },
        { key: 'SIZE', reverse: false },
      ],
      charset: 'US-ASCII',
      key: ALL,
    },
  ],
  // The charset is an astring (a literal too); the criteria are SEARCH's, ANDed.
  [
    'a SORT (SUBJECT) {5+}\r\nutf-8 SUBJECT {6+}\r\n会議 UNSEEN',
    {
      name: 'SORT',
      uid: false,
      criteria: [{ key: 'SUBJECT', reverse: false }],
      charset: 'UTF-8',
      key: { kind: 'and', keys: [{ kind: 'header', field: 'subject', value: '会議' }, { kind: 'flag', flag: '\\Seen', set: false }] },
    },
  ],
  // An unknown charset parses: the handler answers NO [BADCHARSET] (as SEARCH does).
  ['a SORT (SIZE) "koi8-r" 1:*', { name: 'SORT', uid: false, criteria: [{ key: 'SIZE', reverse: false }], charset: 'KOI8-R', key: { kind: 'and', keys: [{ kind: 'seqset', set: [{ from: 1, to: '*' }] }] } }],
  ['a THREAD REFERENCES UTF-8 ALL', { name: 'THREAD', uid: false, algorithm: 'REFERENCES', charset: 'UTF-8', key: ALL }],
  [
    'a UID THREAD orderedsubject UTF-8 OR FROM a NOT SEEN',
    {
      name: 'THREAD',
      uid: true,
      algorithm: 'ORDEREDSUBJECT',
      charset: 'UTF-8',
      key: { kind: 'and', keys: [{ kind: 'or', a: { kind: 'header', field: 'from', value: 'a' }, b: { kind: 'not', key: { kind: 'flag', flag: '\\Seen', set: true } } }] },
    },
  ],
];

const errors: Array<[string, string]> = [
  ['a SORT', 'Error in IMAP command SORT: Missing argument'],
  ['a SORT DATE UTF-8 ALL', 'Error in IMAP command SORT: Expected a sort criteria list'],
  ['a SORT () UTF-8 ALL', 'Error in IMAP command SORT: Expected at least one item in a sort criteria list'],
  ['a SORT (DATE SENTDATE) UTF-8 ALL', 'Error in IMAP command SORT: Unknown sort key SENTDATE'],
  ['a SORT (REVERSE) UTF-8 ALL', 'Error in IMAP command SORT: Expected a sort key after REVERSE'],
  ['a SORT (REVERSE  DATE) UTF-8 ALL', 'Error in IMAP command SORT: Expected a sort key'],
  ['a SORT (DATE)', 'Error in IMAP command SORT: Missing argument'],
  ['a SORT (DATE) UTF-8', 'Error in IMAP command SORT: Missing argument'],
  ['a SORT (DATE) UTF-8 CHARSET UTF-8 ALL', 'Error in IMAP command SORT: Unexpected CHARSET in search criteria'],
  ['a SORT (DATE) UTF-8 ALL)', 'Error in IMAP command SORT: Expected a single space between arguments'],
  ['a THREAD', 'Error in IMAP command THREAD: Missing argument'],
  ['a THREAD REFS UTF-8 ALL', 'Error in IMAP command THREAD: Unknown threading algorithm REFS'],
  ['a THREAD (REFERENCES) UTF-8 ALL', 'Error in IMAP command THREAD: Expected a threading algorithm'],
  ['a UID THREAD REFERENCES UTF-8', 'Error in IMAP command UID: Missing argument'],
];

describe('SORT and THREAD grammar', () => {
  it.each(ok)('%j', (input, expected) => {
    expect(command(input)).toEqual(expected);
  });

  it.each(errors)('%j is BAD', (input, text) => {
    expect(bad(input)).toBe(text);
  });

  it('mutated SORT/THREAD requests never throw, and what parses is well-formed', () => {
    const corpus = [...ok.map(([s]) => s), ...errors.map(([s]) => s)].map((s) => Buffer.from(`${s}\r\n`, 'utf8'));
    const r = mulberry32(5256);
    const nasty = ['(', ')', ' ', '{3}\r\n', '{2+}\r\n', '"', '\\', 'REVERSE ', '*', '\xff', '\0'];
    for (let n = 0; n < 2000; n++) {
      let b = corpus[Math.floor(r() * corpus.length)]!;
      const at = Math.floor(r() * b.length);
      const op = Math.floor(r() * 3);
      if (op === 0) b = Buffer.concat([b.subarray(0, at), Buffer.from(nasty[Math.floor(r() * nasty.length)]!, 'latin1'), b.subarray(at)]);
      else if (op === 1) b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + Math.floor(r() * 4))]);
      else b = Buffer.concat([b.subarray(0, at), Buffer.from('REVERSE ('), b.subarray(at)]);
      const rec = new Receiver(LIMITS);
      const events = [...rec.push(b), ...rec.push(Buffer.from('\r\n'))];
      for (const e of events) {
        if (e.type !== 'request' || !e.request.ok) continue;
        const c = e.request.command;
        // What does parse is well-formed: a non-empty criteria list of known keys, a known algorithm.
        if (c.name === 'SORT') expect(c.criteria.length).toBeGreaterThan(0);
        if (c.name === 'THREAD') expect(['REFERENCES', 'ORDEREDSUBJECT']).toContain(c.algorithm);
      }
    }
  });
});
