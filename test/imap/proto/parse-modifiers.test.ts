// Table tests: CONDSTORE/QRESYNC arguments (RFC 7162 7), replayed at chunk sizes 1..512.
import { describe, expect, it } from 'vitest';
import type { Command } from '../../../src/imap/proto/types.js';
import { bad, command } from './replay.js';

const ok: Array<[string, Partial<Command>]> = [
  ['a SELECT INBOX (CONDSTORE)', { name: 'SELECT', mailbox: 'INBOX', condstore: true }],
  ['a EXAMINE INBOX (condstore)', { name: 'EXAMINE', mailbox: 'INBOX', condstore: true }],
  ['a SELECT INBOX (QRESYNC (67890007 2005071519404500))', { name: 'SELECT', mailbox: 'INBOX', qresync: { uidValidity: 67890007, modseq: 2005071519404500 } }],
  ['a SELECT INBOX (QRESYNC (67890007 20050715194045000))', { name: 'SELECT', mailbox: 'INBOX', qresync: { uidValidity: 67890007, modseq: Number.MAX_SAFE_INTEGER } }],
  [
    'a SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541))',
    { qresync: { uidValidity: 67890007, modseq: Number.MAX_SAFE_INTEGER, knownUids: [{ from: 41, to: 211 }, { from: 214, to: 541 }] } },
  ],
  // RFC 7162 3.2.5.2's example: known UIDs and sequence match data.
  [
    'a EXAMINE INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))',
    {
      qresync: {
        uidValidity: 67890007,
        modseq: Number.MAX_SAFE_INTEGER,
        knownUids: [{ from: 1, to: 29997 }],
        seqMatch: {
          seqs: [{ from: 5000, to: 5000 }, { from: 7500, to: 7500 }, { from: 9000, to: 9000 }, { from: 9990, to: 9999 }],
          uids: [15000, 22500, 27000, 29970, 29973, 29976, 29979, 29982, 29985, 29988, 29991, 29994, 29997].map((n) => ({ from: n, to: n })),
        },
      },
    },
  ],
  ['a SELECT INBOX (QRESYNC (1 2 (3 4)) CONDSTORE)', { condstore: true, qresync: { uidValidity: 1, modseq: 2, seqMatch: { seqs: [{ from: 3, to: 3 }], uids: [{ from: 4, to: 4 }] } } }],
  ['a FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)', { name: 'FETCH', changedSince: 12345 }],
  ['a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)', { name: 'FETCH', uid: true, changedSince: 12345, vanished: true }],
  ['a UID FETCH 1:* FAST (VANISHED CHANGEDSINCE 1)', { name: 'FETCH', macro: 'FAST', changedSince: 1, vanished: true }],
  ['a FETCH 1 UID (CHANGEDSINCE 9223372036854775807)', { changedSince: Number.MAX_SAFE_INTEGER }],
  ['a STORE 1:3 (UNCHANGEDSINCE 0) +FLAGS.SILENT (\\Seen)', { name: 'STORE', op: 'add', silent: true, unchangedSince: 0 }],
  ['a UID STORE 7 (unchangedsince 320162338) FLAGS \\Deleted', { name: 'STORE', uid: true, op: 'set', unchangedSince: 320162338 }],
];

const bads: Array<[string, RegExp]> = [
  ['a SELECT INBOX (QRESYNC (0 5))', /UIDVALIDITY, got 0/],
  ['a SELECT INBOX (QRESYNC (1 0))', /mod-sequence, got 0/],
  ['a SELECT INBOX (QRESYNC (1 x))', /Expected a mod-sequence/],
  ['a SELECT INBOX (QRESYNC (1 2 1:*))', /"\*" is not allowed/],
  ['a SELECT INBOX (QRESYNC (1 2 1:5 (1 2))', /Missing argument/],
  ['a SELECT INBOX (QRESYNC (1 2 1:5 (1 2 3)))', /Expected "\)" to close the sequence match/],
  ['a SELECT INBOX (QRESYNC (4294967296 2))', /out of range/],
  ['a SELECT INBOX (QRESYNC 1 2)', /"\("/],
  ['a SELECT INBOX (QRESYNC (1 2) QRESYNC (1 2))', /twice/],
  ['a SELECT INBOX ()', /at least one item/],
  ['a SELECT INBOX (CONDSTORE) x', /extra arguments/],
  ['a FETCH 1 (FLAGS) (CHANGEDSINCE 99999999999999999999999)', /out of range/],
  ['a FETCH 1 (FLAGS) (CHANGEDSINCE 9223372036854775808)', /out of range/],
  ['a FETCH 1 (FLAGS) (VANISHED)', /VANISHED/],
  ['a FETCH 1 (FLAGS) ()', /at least one item/],
  ['a STORE 1 (UNCHANGEDSINCE) +FLAGS (\\Seen)', /Missing argument|Expected/],
  ['a STORE 1 (UNCHANGEDSINCE 1 UNCHANGEDSINCE 2) +FLAGS (\\Seen)', /repeated/],
  ['a STORE 1 +FLAGS (\\Seen) (UNCHANGEDSINCE 1)', /flag|argument/i],
  ['a SEARCH MODSEQ "/flags/a b" all 5', /entry name/],
  ['a SEARCH MODSEQ -1', /mod-sequence/],
];

describe('CONDSTORE/QRESYNC arguments', () => {
  it.each(ok)('%s', (input, want) => {
    expect(command(input)).toMatchObject(want);
  });
  it.each(bads)('%s is BAD', (input, want) => {
    expect(bad(input)).toMatch(want);
  });
  it('parses SEARCH MODSEQ with and without an entry', () => {
    expect(command('a SEARCH MODSEQ "/flags/\\\\draft" all 620162338')).toMatchObject({ key: { kind: 'and', keys: [{ kind: 'modseq', n: 620162338n }] } });
    expect(command('a UID SEARCH OR NOT MODSEQ 0 SEEN')).toMatchObject({ uid: true });
  });
});
