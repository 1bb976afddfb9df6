// The pure parts of SORT/THREAD: RFC 5256 2.1 base subjects (Japanese encoded words
// included), msg-id normalisation, the collation's code point order, the key cache, the
// RFC's own THREAD example, and trees deeper than any call stack.
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { baseSubject } from '../../src/imap/base-subject.js';
import { casemap, compareText, msgIds } from '../../src/imap/header-keys.js';
import { KeyCache } from '../../src/imap/key-cache.js';
import { sortMessages } from '../../src/imap/sort.js';
import { formatThreads, threadOrderedSubject, threadReferences, type ThreadMessage } from '../../src/imap/thread.js';
import { isoJpSubject } from '../helpers/messages.js';

const sjis = (s: string): string => iconv.encode(s, 'Shift_JIS').toString('latin1');

/** [raw Subject value, base subject, reply or forward]. */
const SUBJECTS: Array<[string | undefined, string, boolean]> = [
  [undefined, '', false],
  ['hello', 'hello', false],
  ['Re: hello', 'hello', true],
  ['RE: Re: re[2]: hello', 'hello', true],
  ['Re :hello', 'hello', true], // subj-refwd allows WSP before the colon
  ['Re[list]:hello', 'hello', true],
  ['Fwd: hello', 'hello', true],
  ['FW: hello', 'hello', true],
  ['Reply: hello', 'Reply: hello', false], // "re" must be followed by [WSP] [blob] ":"
  ['hello (fwd)', 'hello', true],
  ['hello (FWD) (fwd)   ', 'hello', true],
  ['[list] hello', 'hello', false],
  ['[list]', '[list]', false], // a blob is kept when nothing would be left
  ['[a][b]', '[b]', false],
  ['[fwd: hello]', 'hello', true],
  ['[Fwd: Re: [list] hello (fwd)]', 'hello', true],
  ['Fwd: [list] Re: topic', 'topic', true],
  ['Re: ', '', true],
  ['  many \t  spaces\there  ', 'many spaces here', false],
  ['=?UTF-8?Q?Re=3A_caf=C3=A9?=', 'café', true], // decoded before the prefix is seen
  [`Re: ${isoJpSubject('会議の資料について')}`, '会議の資料について', true],
  [`${isoJpSubject('Re: 会議の資料について')}`, '会議の資料について', true],
  [`Fwd: [${isoJpSubject('社内')}] ${isoJpSubject('会議の')} ${isoJpSubject('資料について')}`, '会議の資料について', true],
  [sjis('Re: 見積書の件'), '見積書の件', true], // raw 8-bit Shift_JIS, guessed
];

describe('RFC 5256 2.1 base subject', () => {
  it.each(SUBJECTS)('%j', (raw, text, rf) => {
    expect(baseSubject(raw)).toEqual({ text, replyOrForward: rf });
  });
});

describe('collation and msg-ids', () => {
  it('i;ascii-casemap folds ASCII letters only; order is by code point (= UTF-8 octets)', () => {
    expect(casemap('Ärger über abc')).toBe('ÄRGER üBER ABC');
    const words = ['\u{1F600}', '\uFF21', 'a', 'B', '\u00E9', 'Z', ''].map(casemap);
    expect(words.sort(compareText)).toEqual(['', 'A', 'B', 'Z', '\u00E9', '\uFF21', '\u{1F600}']);
    // Plain JS order would put the emoji (surrogates D83D…) before U+FF21.
    expect(['\uFF21', '\u{1F600}'].sort()).toEqual(['\u{1F600}', '\uFF21']);
  });

  it('REVERSE turns one key around; equal messages stay in sequence order', () => {
    const items = [
      { seq: 1, values: [2, 'B'] },
      { seq: 2, values: [1, 'A'] },
      { seq: 3, values: [2, 'A'] },
      { seq: 4, values: [2, 'A'] },
    ];
    const crit = [
      { key: 'SIZE', reverse: true },
      { key: 'SUBJECT', reverse: false },
    ] as const;
    expect(sortMessages(items, [...crit]).map((x) => x.seq)).toEqual([3, 4, 1, 2]);
  });

  it('msg-ids are normalised (RFC 5256 4: quoting does not make another id)', () => {
    expect(msgIds('<"01KF8JCEOCBS0045PS"@xxx.yyy.com>')).toEqual(['01KF8JCEOCBS0045PS@xxx.yyy.com']);
    expect(msgIds('Your message of Monday <a@b> (comment)\r\n <c (x) @ d>')).toEqual(['a@b', 'c@d']);
    expect(msgIds('<> no id here')).toEqual([]);
    expect(msgIds(undefined)).toEqual([]);
  });
});

describe('key cache', () => {
  const alice = { domain: 'example.test', localPart: 'alice' };
  it('keeps keys per message version; another size or date starts afresh', () => {
    const c = new KeyCache(10);
    const k = c.mailbox(alice, 'INBOX', 7).keys(1, 100, 5000);
    k.date = 42;
    expect(c.mailbox(alice, 'INBOX', 7).keys(1, 100, 5000)).toEqual({ date: 42 });
    expect(c.mailbox(alice, 'INBOX', 8).keys(1, 100, 5000)).toEqual({}); // new UIDVALIDITY
    expect(c.mailbox(alice, 'INBOX', 7).keys(1, 101, 5000)).toEqual({}); // replaced file
    expect(c.mailbox(alice, 'INBOX', 7).keys(1, 101, 5000)).toEqual({});
    expect(c.size).toBe(2);
  });

  it('evicts whole mailboxes, least recently used first, and never grows past its bound', () => {
    const c = new KeyCache(4);
    const fill = (box: string, n: number): void => {
      const b = c.mailbox(alice, box, 1);
      for (let u = 1; u <= n; u++) b.keys(u, 1, 1).date = u;
    };
    fill('A', 2);
    fill('B', 2);
    c.mailbox(alice, 'A', 1); // A used again: B is older now
    fill('C', 1);
    expect(c.mailbox(alice, 'B', 1).keys(1, 1, 1)).toEqual({});
    expect(c.mailbox(alice, 'A', 1).keys(2, 1, 1)).toEqual({ date: 2 });
    fill('Big', 9); // alone larger than the bound: served, not all kept
    expect(c.size).toBeLessThanOrEqual(4);
  });
});

/** A message of `id` sent at minute `minute`; `refs` are the ids it answers (parents first). */
function msg(id: number, minute: number, refs: number[] = [], subject = `topic ${id}`, replyOrForward = false): ThreadMessage {
  return { seq: id, id, date: minute * 60_000, subject: casemap(subject), replyOrForward, messageId: `m${id}@x`, references: refs.map((r) => `m${r}@x`) };
}

describe('THREAD', () => {
  it("the RFC's example: (2)(3 6 (4 23)(44 7 96))", () => {
    const msgs = [msg(2, 1), msg(3, 2), msg(6, 3, [3]), msg(4, 4, [3, 6]), msg(23, 5, [3, 6, 4]), msg(44, 6, [3, 6]), msg(7, 7, [44]), msg(96, 8, [44, 7])];
    expect(formatThreads(threadReferences(msgs))).toBe('* THREAD (2)(3 6 (4 23)(44 7 96))');
  });

  it('a dummy root keeps its children together; ORDEREDSUBJECT makes no grandchildren', () => {
    const msgs = [msg(1, 5, [99], 'x'), msg(2, 3, [99], 'x'), msg(3, 4, [2], 'x')];
    expect(formatThreads(threadReferences(msgs))).toBe('* THREAD ((2 3)(1))');
    expect(formatThreads(threadOrderedSubject(msgs))).toBe('* THREAD (2 (3)(1))');
    expect(formatThreads([])).toBe('* THREAD');
  });

  it('RFC 5256 4 (5): roots with one base subject are merged by the four rules', () => {
    const msgs = [
      // Neither is a reply: siblings under a new dummy (no parent is asserted).
      msg(1, 1, [], 'lunch'),
      msg(2, 2, [], 'lunch'),
      // Both are replies: the same.
      msg(3, 3, [], 'plan', true),
      msg(4, 4, [], 'plan', true),
      // Two dummies (missing parents 90, 91) with one subject: one set of siblings.
      msg(5, 5, [90], 'offsite'),
      msg(6, 6, [90], 'offsite'),
      msg(7, 7, [91], 'offsite'),
      msg(8, 8, [91], 'offsite'),
      // A dummy (missing parent 92) and a message: the message joins the dummy's children.
      msg(9, 9, [], 'budget'),
      msg(10, 10, [92], 'budget', true),
      msg(11, 11, [92], 'budget', true),
    ];
    expect(formatThreads(threadReferences(msgs))).toBe('* THREAD ((1)(2))((3)(4))((5)(6)(7)(8))((9)(10)(11))');
  });

  it('threads deeper than the call stack: 20,000 replies in one chain, in either arrival order', () => {
    const n = 20_000;
    const chain = Array.from({ length: n }, (_, k) => msg(k + 1, k, k === 0 ? [] : [k]));
    const line = formatThreads(threadReferences(chain));
    expect(line.startsWith('* THREAD (1 2 3 ')).toBe(true);
    expect(line.endsWith(` ${n})`)).toBe(true);
    expect(line.match(/\(/g)).toHaveLength(1);
    // Replies first: every parent is a dummy until its message comes.
    const reversed = Array.from({ length: n }, (_, k) => ({ ...msg(n - k, n - k), seq: k + 1, references: n - k === 1 ? [] : [`m${n - k - 1}@x`] }));
    expect(formatThreads(threadReferences(reversed))).toBe(line);
    // A wide thread too: one message with 20,000 replies.
    const wide = [msg(1, 0), ...Array.from({ length: n - 1 }, (_, k) => msg(k + 2, k + 1, [1]))];
    expect(formatThreads(threadReferences(wide)).startsWith('* THREAD (1 (2)(3)(4)')).toBe(true);
  });
});
