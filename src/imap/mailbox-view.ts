// One session's view of its selected mailbox: sequence number → UID, flags, \Recent.
// Pure: no store, no socket. The session feeds it change records and store listings, and
// asks it at the end of each command which untagged updates to send.
//
// Consistency rules (RFC 3501 5.2, 5.5, 7.4.1):
// - sequence numbers never shift under the client until it has been told: an expunge by
//   anyone is only noted, and the message stays at its number (its last known flags, size
//   and date) until EXPUNGE is sent at a command that allows it (not FETCH, STORE, SEARCH);
// - new messages get sequence numbers only when EXISTS is sent;
// - flag changes by others are announced as FETCH (UID n FLAGS (...)) at the next command;
// - a new keyword makes the view announce FLAGS (and PERMANENTFLAGS) again.
import type { SeqRange } from './proto/types.js';
import { ImapBad } from './errors.js';

export interface ViewMessage {
  uid: number;
  /** IMAP names: system flags, then keywords; \Recent is not stored here. */
  flags: string[];
  internalDate: Date;
  /** RFC822.SIZE (CRLF form). */
  size: number;
  recent: boolean;
  /** RFC 7162 mod-sequence as last told by the store (0 when unknown). */
  modseq?: number;
}

export type ViewUpdate =
  | { kind: 'expunge'; seq: number; uid: number }
  | { kind: 'exists'; count: number }
  | { kind: 'recent'; count: number }
  | { kind: 'flags'; keywords: string[] }
  | { kind: 'fetch'; seq: number; uid: number; flags: string[]; recent: boolean; modseq: number };

const sameFlags = (a: string[], b: string[]): boolean => a.length === b.length && a.every((f, i) => f === b[i]);

/** Canonical order, so comparisons do not depend on how the store listed them. */
export function sortFlags(flags: Iterable<string>): string[] {
  const sys = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];
  const all = [...new Set(flags)];
  const system = sys.filter((f) => all.includes(f));
  const keywords = all.filter((f) => !f.startsWith('\\')).sort();
  return [...system, ...keywords];
}

/**
 * sortFlags() of a message's stored flags and keywords, shared: a mailbox has a handful of
 * distinct combinations, and SELECT of 10,000 messages otherwise sorts 10,000 small arrays.
 * Frozen, because views and listings hold the same arrays (they replace, never mutate, them).
 */
const canonical = new Map<string, readonly string[]>();

export function canonicalFlags(flags: readonly string[], keywords: readonly string[]): string[] {
  const key = keywords.length === 0 ? flags.join(' ') : `${flags.join(' ')}\0${keywords.join(' ')}`;
  let v = canonical.get(key);
  if (v === undefined) {
    if (canonical.size >= 4096) canonical.clear();
    v = Object.freeze(sortFlags([...flags, ...keywords]));
    canonical.set(key, v);
  }
  return v as string[];
}

export class MailboxView {
  private msgs: ViewMessage[];
  private readonly pendingExpunge = new Set<number>();
  private readonly pendingFlags = new Set<number>();
  private pendingAppend: ViewMessage[] = [];
  private announcedKeywords: Set<string>;
  /** A store listing is needed before the next flush (appends or outside changes). */
  needSync = false;
  /** The mailbox's HIGHESTMODSEQ as far as this view has heard (RFC 7162). */
  highestModseq = 0;

  /** A store record or listing carried this modseq; the highest only grows. */
  noteModseq(n: number): void {
    if (n > this.highestModseq) this.highestModseq = n;
  }

  constructor(
    messages: ViewMessage[],
    readonly uidValidity: number,
    public uidNext: number,
  ) {
    this.msgs = [...messages].sort((a, b) => a.uid - b.uid);
    this.announcedKeywords = new Set(this.allKeywords());
  }

  get count(): number {
    return this.msgs.length;
  }
  get recentCount(): number {
    return this.msgs.reduce((n, m) => n + (m.recent ? 1 : 0), 0);
  }
  /** Keywords in use, for FLAGS (RFC 3501 7.2.6). */
  keywords(): string[] {
    return [...this.announcedKeywords].sort();
  }
  private allKeywords(): string[] {
    const k = new Set<string>();
    for (const list of [this.msgs, this.pendingAppend]) for (const m of list) for (const f of m.flags) if (!f.startsWith('\\')) k.add(f);
    return [...k];
  }

  /** Flags that a message now has: a keyword not yet announced makes keywordUpdate() look. */
  private noteFlags(flags: readonly string[]): void {
    if (this.kwStale) return;
    for (const f of flags) if (!f.startsWith('\\') && !this.announcedKeywords.has(f)) this.kwStale = true;
  }
  /** Set when a message got a keyword not announced yet; until then keywordUpdate() need not
   *  walk every message (it runs at the end of every command: 10,000 messages each time). */
  private kwStale = false;

  /** 1-based sequence number → message. */
  at(seq: number): ViewMessage | undefined {
    return this.msgs[seq - 1];
  }
  /** UID → 1-based sequence number, or 0 when not in the view. Binary search: UIDs ascend. */
  seqOf(uid: number): number {
    let lo = 0;
    let hi = this.msgs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const u = this.msgs[mid]!.uid;
      if (u === uid) return mid + 1;
      if (u < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }
  /** Every message in sequence order (read-only use). */
  all(): readonly ViewMessage[] {
    return this.msgs;
  }
  /** Messages expunged by others whose EXPUNGE this client has not been sent yet. */
  get expungesPending(): number {
    return this.pendingExpunge.size;
  }

  isExpungePending(uid: number): boolean {
    return this.pendingExpunge.has(uid);
  }

  /**
   * Sequence numbers of a set (RFC 3501 9 `sequence-set`), ascending, without duplicates.
   * Message numbers past the end are the client's error (RFC 3501 7.1.5: BAD); UIDs that do
   * not exist are simply skipped (RFC 3501 6.4.8), and `*` is the last UID.
   */
  resolve(set: SeqRange[], byUid: boolean): number[] {
    const n = this.msgs.length;
    if (!byUid) {
      const seqs = new Set<number>();
      for (const r of set) {
        if ((r.from === '*' || r.to === '*') && n === 0) throw new ImapBad('No messages in the mailbox ("*" has no value)');
        const a = r.from === '*' ? n : r.from;
        const b = r.to === '*' ? n : r.to;
        const lo = Math.min(a, b);
        const hi = Math.max(a, b);
        if (lo < 1 || hi > n) throw new ImapBad(`Invalid message sequence number ${hi > n ? hi : lo} (${n} messages)`);
        for (let s = lo; s <= hi; s++) seqs.add(s);
      }
      return [...seqs].sort((x, y) => x - y);
    }
    if (n === 0) return [];
    const last = this.msgs[n - 1]!.uid;
    const ranges = set.map((r) => {
      const a = r.from === '*' ? last : r.from;
      const b = r.to === '*' ? last : r.to;
      return [Math.min(a, b), Math.max(a, b)] as const;
    });
    const out: number[] = [];
    this.msgs.forEach((m, i) => {
      if (ranges.some(([lo, hi]) => m.uid >= lo && m.uid <= hi)) out.push(i + 1);
    });
    return out;
  }

  /** A flag change record (ours or another session's), with its modseq when known. */
  applyFlags(uid: number, flags: string[], modseq?: number): void {
    const sorted = sortFlags(flags);
    const pend = this.pendingAppend.find((m) => m.uid === uid);
    if (pend) {
      pend.flags = sorted;
      this.noteFlags(sorted);
      if (modseq !== undefined) pend.modseq = Math.max(pend.modseq ?? 0, modseq);
      return;
    }
    const seq = this.seqOf(uid);
    if (seq === 0) return;
    const m = this.msgs[seq - 1]!;
    // Modseqs only grow (RFC 7162 3.1.1): a late record does not take one back.
    if (modseq !== undefined) m.modseq = Math.max(m.modseq ?? 0, modseq);
    if (sameFlags(m.flags, sorted)) return;
    m.flags = sorted;
    this.noteFlags(sorted);
    this.pendingFlags.add(uid);
  }

  /** The client has just been sent these flags (STORE reply, FETCH FLAGS): nothing to announce. */
  announced(uid: number): void {
    this.pendingFlags.delete(uid);
  }

  applyExpunge(uids: Iterable<number>): void {
    for (const uid of uids) {
      if (this.seqOf(uid) > 0) this.pendingExpunge.add(uid);
      this.pendingAppend = this.pendingAppend.filter((m) => m.uid !== uid);
    }
  }

  /**
   * Reconciles with a fresh store listing (after appends, or files changed by another
   * program): what vanished is a pending expunge, what is new past the last UID a pending
   * append, changed flags are pending FETCHes. `recentOf` decides which new UIDs are \Recent
   * for this session.
   */
  reconcile(
    list: Array<{ uid: number; flags: string[]; internalDate: Date; size: number; modseq?: number }>,
    uidNext: number,
    recentOf: (uids: number[]) => Set<number>,
  ): void {
    this.needSync = false;
    this.uidNext = Math.max(this.uidNext, uidNext);
    const present = new Map(list.map((m) => [m.uid, m]));
    for (const m of this.msgs) {
      const now = present.get(m.uid);
      if (!now) this.pendingExpunge.add(m.uid);
      else this.applyFlags(m.uid, now.flags, now.modseq);
    }
    const lastKnown = Math.max(this.msgs.at(-1)?.uid ?? 0, this.pendingAppend.at(-1)?.uid ?? 0);
    this.pendingAppend = this.pendingAppend.filter((m) => present.has(m.uid));
    for (const m of this.pendingAppend) {
      const now = present.get(m.uid)!;
      m.flags = sortFlags(now.flags);
      this.noteFlags(m.flags);
      if (now.modseq !== undefined) m.modseq = now.modseq;
    }
    // A UID below the last one we know cannot get a sequence number without shifting the
    // others; Maildir never produces one (UIDs only grow), so it is ignored.
    const fresh = list.filter((m) => m.uid > lastKnown).sort((a, b) => a.uid - b.uid);
    if (fresh.length > 0) {
      const recent = recentOf(fresh.map((m) => m.uid));
      for (const m of fresh) {
        this.pendingAppend.push({ uid: m.uid, flags: sortFlags(m.flags), internalDate: m.internalDate, size: m.size, recent: recent.has(m.uid), modseq: m.modseq ?? 0 });
        this.noteFlags(this.pendingAppend.at(-1)!.flags);
      }
    }
  }

  /**
   * The untagged updates due now, applied to the view. With `allowExpunge` false (during
   * FETCH, STORE, SEARCH: RFC 3501 7.4.1) expunged messages keep their numbers.
   */
  flush(allowExpunge: boolean): ViewUpdate[] {
    const out: ViewUpdate[] = [];
    if (allowExpunge && this.pendingExpunge.size > 0) {
      // Highest number first: each EXPUNGE's number is valid at the moment it is read.
      const seqs = [...this.pendingExpunge].map((u) => this.seqOf(u)).filter((s) => s > 0).sort((a, b) => b - a);
      for (const seq of seqs) {
        const uid = this.msgs[seq - 1]!.uid;
        out.push({ kind: 'expunge', seq, uid });
        this.msgs.splice(seq - 1, 1);
        this.pendingFlags.delete(uid);
      }
      this.pendingExpunge.clear();
    }
    if (this.pendingAppend.length > 0) {
      const hadRecent = this.pendingAppend.some((m) => m.recent);
      this.msgs.push(...this.pendingAppend);
      this.pendingAppend = [];
      this.uidNext = Math.max(this.uidNext, (this.msgs.at(-1)?.uid ?? 0) + 1);
      out.push({ kind: 'exists', count: this.msgs.length });
      if (hadRecent || this.recentCount > 0) out.push({ kind: 'recent', count: this.recentCount });
    }
    const kw = this.keywordUpdate();
    if (kw) out.push(kw);
    if (this.pendingFlags.size > 0) {
      const seqs = [...this.pendingFlags].map((u) => this.seqOf(u)).filter((s) => s > 0).sort((a, b) => a - b);
      for (const seq of seqs) {
        const m = this.msgs[seq - 1]!;
        if (this.pendingExpunge.has(m.uid)) continue;
        out.push({ kind: 'fetch', seq, uid: m.uid, flags: m.flags, recent: m.recent, modseq: m.modseq ?? 0 });
        this.pendingFlags.delete(m.uid);
      }
    }
    return out;
  }

  /**
   * FLAGS again when a keyword appeared (RFC 3501 7.2.6), so the client knows it before a
   * FETCH shows it; STORE and FETCH call this before writing their own responses.
   */
  keywordUpdate(): ViewUpdate | null {
    if (!this.kwStale) return null;
    this.kwStale = false;
    const kw = this.allKeywords();
    if (!kw.some((k) => !this.announcedKeywords.has(k))) return null;
    for (const k of kw) this.announcedKeywords.add(k);
    return { kind: 'flags', keywords: this.keywords() };
  }

  /** Pending changes exist (IDLE pushes them at once). */
  get dirty(): boolean {
    return this.needSync || this.pendingExpunge.size > 0 || this.pendingFlags.size > 0 || this.pendingAppend.length > 0;
  }
}
