// Sequence set expansion (RFC 3501 6.4.8, 9) and mailbox name checks.
import { describe, expect, it } from 'vitest';
import { checkMailboxName } from '../../../src/imap/proto/mailbox-name.js';
import { formatSequenceSet, formatUidSet, isValidSeqSet, seqSetToSeqs, uidSetToUids } from '../../../src/imap/proto/sequence.js';
import type { SequenceSet } from '../../../src/imap/proto/types.js';
import { command } from './replay.js';

/** Parse a set the way a client writes it, through the real grammar. */
function set(text: string): SequenceSet {
  const c = command(`a UID EXPUNGE ${text}`);
  if (c.name !== 'UID EXPUNGE') throw new Error(c.name);
  return c.set;
}

describe('sequence sets', () => {
  it('message numbers: sorted, unique, clipped to the mailbox', () => {
    expect(seqSetToSeqs(set('1:3,2,5'), 5)).toEqual([1, 2, 3, 5]);
    expect(seqSetToSeqs(set('*:3'), 5)).toEqual([3, 4, 5]);
    expect(seqSetToSeqs(set('4:2'), 5)).toEqual([2, 3, 4]);
    expect(seqSetToSeqs(set('*'), 5)).toEqual([5]);
    expect(seqSetToSeqs(set('1:*'), 0)).toEqual([]);
    // RFC 3501 6.4.8: n:* with n past the end names the last message.
    expect(seqSetToSeqs(set('9:*'), 3)).toEqual([3]);
    expect(seqSetToSeqs(set('1:4294967295'), 3)).toEqual([1, 2, 3]);
    expect(seqSetToSeqs(set('7'), 3)).toEqual([]);
  });

  it('isValidSeqSet: numbers beyond the mailbox, or any set in an empty mailbox, are invalid', () => {
    expect(isValidSeqSet(set('1:3,*'), 3)).toBe(true);
    expect(isValidSeqSet(set('1:4'), 3)).toBe(false);
    expect(isValidSeqSet(set('4:*'), 3)).toBe(false);
    expect(isValidSeqSet(set('*'), 0)).toBe(false);
  });

  it('UIDs: only existing ones, * = largest UID, 1:* walks the mailbox not the range', () => {
    const uids = [3, 7, 8, 20, 4000000000];
    expect(uidSetToUids(set('1:*'), uids)).toEqual(uids);
    expect(uidSetToUids(set('8:7,21:*,5'), uids)).toEqual([7, 8, 4000000000]);
    expect(uidSetToUids(set('4294967295:*'), uids)).toEqual([4000000000]); // n:* past the max
    expect(uidSetToUids(set('*'), [])).toEqual([]);
    expect(uidSetToUids(set('9:19'), uids)).toEqual([]);
    const many = Array.from({ length: 100_000 }, (_, i) => i * 2 + 1);
    const t0 = performance.now();
    expect(uidSetToUids(set('1:4294967295,1:*,2:*'), many)).toHaveLength(100_000);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('formatUidSet compacts runs and keeps the given order (COPYUID pairs by position)', () => {
    expect(formatUidSet([1, 2, 3, 7])).toBe('1:3,7');
    expect(formatUidSet([5])).toBe('5');
    expect(formatUidSet([])).toBe('');
    expect(formatUidSet([9, 10, 4, 5, 6])).toBe('9:10,4:6');
    expect(formatSequenceSet(set('1:*,3,*:2'))).toBe('1:*,3,*:2');
  });
});

describe('mailbox names', () => {
  const d = { delimiter: '/' };
  it('accepts ordinary, nested and non-ASCII names', () => {
    for (const n of ['INBOX', 'Archive/2024', '日本語/メール', 'a.b', 'Tom&Jerry']) expect(checkMailboxName(n, d)).toEqual({ ok: true });
    expect(checkMailboxName('a*b', d)).toEqual({ ok: true });
  });

  it.each([
    ['', 'empty'],
    ['/', 'empty'],
    ['/a', 'delimiter'],
    ['a//b', 'delimiter'],
    ['a/', 'delimiter'],
    ['a/../b', 'dot'],
    ['.', 'dot'],
    ['a\0b', 'control'],
    ['a\tb', 'control'],
    ['a\u0085b', 'control'],
    [`${'x'.repeat(256)}`, 'too-long'],
    [`${'x/'.repeat(40)}x`, 'too-deep'],
    [`${`${'x'.repeat(99)}/`.repeat(11)}x`, 'too-long'],
  ])('%j is refused: %s', (name, problem) => {
    expect(checkMailboxName(name, d)).toMatchObject({ ok: false, problem });
  });

  it('"/" is refused when it is not the delimiter; wildcards only when creating', () => {
    expect(checkMailboxName('a/b', { delimiter: '.' })).toMatchObject({ ok: false, problem: 'slash' });
    expect(checkMailboxName('a.b', { delimiter: '.' })).toEqual({ ok: true });
    expect(checkMailboxName('a*b', { delimiter: '/', forCreate: true })).toMatchObject({ ok: false, problem: 'wildcard' });
    expect(checkMailboxName('a%', { delimiter: '/', forCreate: true })).toMatchObject({ ok: false, problem: 'wildcard' });
  });

  it('length is counted in modified UTF-7, the bytes that reach the disk', () => {
    // 100 CJK characters: 100 bytes of UTF-16 → ~270 bytes of modified UTF-7 base64.
    expect(checkMailboxName('日'.repeat(100), d)).toMatchObject({ ok: false, problem: 'too-long' });
    expect(checkMailboxName('日'.repeat(80), d)).toEqual({ ok: true });
  });
});
