// CONDSTORE and QRESYNC (RFC 7162) for the session and the commands: what is enabled, the
// untagged lines that change shape once it is (MODSEQ in FETCH, VANISHED for EXPUNGE), and
// the QRESYNC part of SELECT. The modseqs themselves live in the store (src/maildir/modseq.ts).
import type { MailUser, MessageListing } from '../../maildir/types.js';
import type { MailboxView, ViewUpdate } from '../mailbox-view.js';
import type { QresyncParams, SearchKey, SeqRange } from '../proto/types.js';
import { flagList, uidSetText, updateLines } from '../response.js';
import type { ImapSession } from '../session.js';

export const condstoreOn = (s: ImapSession): boolean => s.enabled.has('CONDSTORE');
export const qresyncOn = (s: ImapSession): boolean => s.enabled.has('QRESYNC');

/**
 * RFC 7162 3.1: SELECT (CONDSTORE), FETCH MODSEQ/CHANGEDSINCE, STORE UNCHANGEDSINCE and
 * SEARCH MODSEQ enable CONDSTORE for the rest of the session, as ENABLE CONDSTORE does.
 */
export function enableCondstore(s: ImapSession): void {
  s.enabled.add('CONDSTORE');
}

/** ENABLE QRESYNC implies CONDSTORE (RFC 7162 3.2.3). */
export function enableQresync(s: ImapSession): void {
  s.enabled.add('CONDSTORE');
  s.enabled.add('QRESYNC');
}

/** `* n FETCH ([UID u] FLAGS (...) [MODSEQ (m)])`. */
export function fetchFlagsLine(seq: number, uid: number | null, flags: string[], modseq: number | null): string {
  const parts = [];
  if (uid !== null) parts.push(`UID ${uid}`);
  parts.push(`FLAGS ${flagList(flags)}`);
  if (modseq !== null) parts.push(`MODSEQ (${modseq})`);
  return `* ${seq} FETCH (${parts.join(' ')})`;
}

/**
 * The untagged lines for a batch of view updates. After ENABLE QRESYNC, expunges are one
 * `* VANISHED <uids>` instead of EXPUNGEs (RFC 7162 3.2.10); with CONDSTORE on, flag
 * updates carry MODSEQ (3.1.4: "the server MUST include MODSEQ in all subsequent untagged
 * FETCH responses" that report flags).
 */
export function viewUpdateLines(s: ImapSession, updates: ViewUpdate[]): string[] {
  const out: string[] = [];
  const vanished: number[] = [];
  const withModseq = condstoreOn(s);
  for (const u of updates) {
    if (u.kind === 'expunge' && qresyncOn(s)) {
      vanished.push(u.uid);
      continue;
    }
    if (vanished.length > 0) out.push(`* VANISHED ${uidSetText(vanished.sort((a, b) => a - b))}`), (vanished.length = 0);
    if (u.kind === 'fetch' && withModseq) {
      out.push(fetchFlagsLine(u.seq, u.uid, u.recent ? [...u.flags, '\\Recent'] : u.flags, u.modseq));
      continue;
    }
    out.push(...updateLines(u, true));
  }
  if (vanished.length > 0) out.push(`* VANISHED ${uidSetText(vanished.sort((a, b) => a - b))}`);
  return out;
}

/** Does `uid` fall in one of the ranges (no `*`: the parser refused it)? */
function inRanges(ranges: readonly SeqRange[], uid: number): boolean {
  return ranges.some((r) => {
    const a = r.from as number;
    const b = r.to as number;
    return uid >= Math.min(a, b) && uid <= Math.max(a, b);
  });
}

/** Expands ranges into numbers, at most `cap` of them (seq-match sets are short). */
function expand(ranges: readonly SeqRange[], cap: number): number[] {
  const out: number[] = [];
  for (const r of ranges) {
    const a = Math.min(r.from as number, r.to as number);
    const b = Math.max(r.from as number, r.to as number);
    for (let i = a; i <= b && out.length <= cap; i++) out.push(i);
  }
  return out;
}

/**
 * UIDs (as a compact set text) in `[1, top]` ∩ `within` that are not in the mailbox: the
 * answer when expunges that old are forgotten (RFC 7162 3.2.5.2 lets the server report
 * UIDs the client may never have seen). Walks the present UIDs, never the whole range.
 */
export function absentUids(present: readonly number[], top: number, within: readonly SeqRange[] | null, floor = 0): string {
  const gaps: Array<[number, number]> = [];
  let prev = floor;
  for (const u of [...present, top + 1]) {
    if (u > prev + 1) gaps.push([prev + 1, Math.min(u - 1, top)]);
    prev = Math.max(prev, u);
    if (prev >= top) break;
  }
  const parts: string[] = [];
  const add = (a: number, b: number) => {
    if (a <= b) parts.push(a === b ? `${a}` : `${a}:${b}`);
  };
  for (const [a, b] of gaps) {
    if (!within) add(a, b);
    else {
      for (const r of within) {
        const lo = Math.max(a, Math.min(r.from as number, r.to as number));
        const hi = Math.min(b, Math.max(r.from as number, r.to as number));
        add(lo, hi);
      }
    }
  }
  return parts.join(',');
}

/**
 * The QRESYNC part of SELECT (RFC 7162 3.2.5), sent after the usual untagged responses:
 * `* VANISHED (EARLIER)` for UIDs expunged since the client's modseq, then a FETCH (UID,
 * FLAGS, MODSEQ) of every message changed since. Both are limited to the known UIDs when
 * the client gave them. Nothing when UIDVALIDITY changed: the client starts over.
 */
export async function qresyncSelect(
  s: ImapSession,
  mailUser: MailUser,
  name: string,
  view: MailboxView,
  listing: MessageListing,
  q: QresyncParams,
): Promise<void> {
  if (q.uidValidity !== listing.uidValidity) return;
  const known = q.knownUids ?? null;
  const exact = await s.deps.store.expungedSince(mailUser, name, q.modseq);
  const present = listing.messages.map((m) => m.uid);
  let text: string;
  if (exact) {
    text = uidSetText(known ? exact.filter((u) => inRanges(known, u)) : exact);
  } else {
    // RFC 7162 3.2.5.2: the last seq-match pair whose UID still sits at that sequence
    // number bounds what the client can have missed: nothing below it was expunged.
    let floor = 0;
    if (q.seqMatch) {
      const seqs = expand(q.seqMatch.seqs, 1000);
      const uids = expand(q.seqMatch.uids, 1000);
      for (let i = 0; i < seqs.length; i++) if (view.at(seqs[i]!)?.uid === uids[i]) floor = Math.max(floor, uids[i]!);
    }
    text = absentUids(present, Math.max(0, listing.uidNext - 1), known, floor);
  }
  if (text !== '') s.send(`* VANISHED (EARLIER) ${text}`);
  const all = view.all();
  for (let i = 0; i < all.length; i++) {
    const m = all[i]!;
    if ((m.modseq ?? 0) <= q.modseq || (known && !inRanges(known, m.uid))) continue;
    s.send(fetchFlagsLine(i + 1, m.uid, m.recent ? [...m.flags, '\\Recent'] : m.flags, m.modseq ?? 0));
  }
}

/**
 * UID FETCH ... (CHANGEDSINCE n VANISHED) (RFC 7162 3.2.6): `* VANISHED (EARLIER)` for the
 * UIDs of the set expunged since n, before the FETCH responses.
 */
export async function vanishedForFetch(s: ImapSession, set: readonly SeqRange[], changedSince: number): Promise<void> {
  if (s.state.kind !== 'selected') return;
  const { sel, mailUser } = s.state;
  const top = Math.max(sel.view.uidNext - 1, sel.view.all().at(-1)?.uid ?? 0);
  const ranges = set.map((r) => ({ from: r.from === '*' ? top : r.from, to: r.to === '*' ? top : r.to }));
  const exact = await s.deps.store.expungedSince(mailUser, sel.mailbox, changedSince);
  // Messages whose expunge the client has not been told yet still count as present: their
  // VANISHED (without EARLIER) follows at the end of a command that allows it.
  const present = sel.view.all().map((m) => m.uid);
  const here = new Set(present);
  const text = exact ? uidSetText(exact.filter((u) => inRanges(ranges, u) && !here.has(u))) : absentUids(present, top, ranges);
  if (text !== '') s.send(`* VANISHED (EARLIER) ${text}`);
}

function usesModseq(key: SearchKey): boolean {
  switch (key.kind) {
    case 'modseq':
      return true;
    case 'not':
      return usesModseq(key.key);
    case 'or':
      return usesModseq(key.a) || usesModseq(key.b);
    case 'and':
      return key.keys.some(usesModseq);
    default:
      return false;
  }
}

/**
 * SEARCH with a MODSEQ key enables CONDSTORE and ends its reply with the highest modseq of
 * the matches: ` (MODSEQ n)` after SEARCH (RFC 7162 3.1.5), ` MODSEQ n` in ESEARCH (3.1.5, RFC 4731).
 * Empty when the key has no MODSEQ or nothing matched.
 */
export function searchModseqSuffix(s: ImapSession, key: SearchKey, matched: number, highest: number, esearch: boolean): string {
  if (!usesModseq(key)) return '';
  enableCondstore(s);
  if (matched === 0) return '';
  return esearch ? ` MODSEQ ${highest}` : ` (MODSEQ ${highest})`;
}

/**
 * `[HIGHESTMODSEQ n] ` for the tagged OK of EXPUNGE and UID EXPUNGE once QRESYNC is on: an
 * expunge raises the mailbox's modseq but no FETCH carries it, so this is how the client
 * learns the value to resync from next time (RFC 7162 3.2.10; Dovecot does the same).
 */
export function highestModseqCode(s: ImapSession, view: MailboxView): string {
  return qresyncOn(s) ? `[HIGHESTMODSEQ ${view.highestModseq}] ` : '';
}
