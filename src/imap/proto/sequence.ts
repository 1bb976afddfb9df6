// Sequence sets (RFC 3501 9 `sequence-set`): parsing and expansion. Pure.
// `*` stays symbolic until a mailbox gives it a value. A range may be written either way
// round (`*:3` = `3:*`), and `n:*` with n past the last message still names the last one
// (RFC 3501 6.4.8, 9: "4:*" on a 3-message mailbox is "3"). Expansion walks the mailbox,
// never the range, so `UID FETCH 1:*` does not build a 4-billion-element array.
import type { SeqNumber, SeqRange, SequenceSet } from './types.js';
import { type Cursor, MAX_NUMBER } from './tokens.js';

function seqNumber(c: Cursor): SeqNumber {
  if (c.eat(0x2a)) return '*';
  return c.nzNumber('a sequence number');
}

/** sequence-set = (seq-number / seq-range) *("," ...). `$` (RFC 5182) is not accepted yet. */
export function parseSequenceSet(c: Cursor): SequenceSet {
  const out: SeqRange[] = [];
  for (;;) {
    const p = c.peek();
    if (!(p === 0x2a || (p >= 0x30 && p <= 0x39))) c.fail('Invalid sequence set');
    const from = seqNumber(c);
    const to = c.eat(0x3a) ? seqNumber(c) : from;
    out.push({ from, to });
    if (!c.eat(0x2c)) return out;
  }
}

/** Does `set` use only numbers that exist in a mailbox of `count` messages (RFC 3501 9: seq-number)? */
export function isValidSeqSet(set: SequenceSet, count: number): boolean {
  if (set === '$') return true;
  if (count === 0) return false;
  for (const r of set) {
    if (r.from !== '*' && r.from > count) return false;
    if (r.to !== '*' && r.to > count) return false;
  }
  return true;
}

/** Message sequence numbers named by `set` in a mailbox of `count` messages: sorted, unique, 1..count. */
export function seqSetToSeqs(set: SequenceSet, count: number): number[] {
  if (set === '$' || count <= 0) return [];
  const hit = new Uint8Array(count + 1);
  for (const r of set) {
    const a = r.from === '*' ? count : r.from;
    const b = r.to === '*' ? count : r.to;
    let lo = Math.min(a, b);
    const hi = Math.min(Math.max(a, b), count);
    // `n:*` (or `*:n`) with n past the end still means the last message (RFC 3501 6.4.8).
    if ((r.from === '*' || r.to === '*') && lo > count) lo = count;
    for (let i = Math.max(lo, 1); i <= hi; i++) hit[i] = 1;
  }
  const out: number[] = [];
  for (let i = 1; i <= count; i++) if (hit[i]) out.push(i);
  return out;
}

function lowerBound(arr: number[], v: number): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * UIDs named by `set` among the mailbox's UIDs (`uidsSorted` ascending): sorted, unique.
 * `*` is the largest UID in use; UIDs in the set that do not exist are ignored (RFC 3501 6.4.8).
 */
export function uidSetToUids(set: SequenceSet, uidsSorted: number[]): number[] {
  const n = uidsSorted.length;
  if (set === '$' || n === 0) return [];
  const max = uidsSorted[n - 1]!;
  const hit = new Uint8Array(n);
  for (const r of set) {
    const a = r.from === '*' ? max : r.from;
    const b = r.to === '*' ? max : r.to;
    let lo = Math.min(a, b);
    const hi = Math.max(a, b);
    if ((r.from === '*' || r.to === '*') && lo > max) lo = max;
    for (let i = lowerBound(uidsSorted, lo); i < n && uidsSorted[i]! <= hi; i++) hit[i] = 1;
  }
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (hit[i]) out.push(uidsSorted[i]!);
  return out;
}

/**
 * Compact text of a UID list in the order given: `[1,2,3,7]` → `1:3,7`. Order is kept, not
 * sorted, because COPYUID pairs source and destination UIDs by position (RFC 4315 3).
 */
export function formatUidSet(uids: number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < uids.length) {
    const start = uids[i]!;
    let j = i;
    while (j + 1 < uids.length && uids[j + 1] === uids[j]! + 1) j++;
    parts.push(j === i ? String(start) : `${start}:${uids[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** Text of a parsed sequence set, as a client would write it (logs, tests). */
export function formatSequenceSet(set: SequenceSet): string {
  if (set === '$') return '$';
  return set.map((r) => (r.from === r.to ? String(r.from) : `${r.from}:${r.to}`)).join(',');
}

export { MAX_NUMBER };
