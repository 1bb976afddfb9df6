// Mod-sequences (RFC 7162 CONDSTORE/QRESYNC) for one Maildir folder, kept in our own file
// `mailserver.modseq` beside dovecot-uidlist (Dovecot keeps its modseqs in its index, which
// we never write).
//
// How changes are found: every message's record holds the Maildir info part (`:2,<flags>`)
// it had when it was last stamped. A sync compares the directory with those records, so a
// flag change, an expunge or a new file made by another program (Dovecot, a restore, a
// shell) is stamped at the next listing, exactly as our own writes are. Our own writes stamp
// at once (deliver/copy: `?` = info not known yet, adopted without a bump at the next sync).
// One operation gets one new modseq for all the messages it touched (RFC 7162 3.1.1 allows
// several messages to share one).
//
// The file is a journal: a header line, then whole lines appended per operation (one write),
// compacted (atomic rename) when it grows:
//   MODSEQ1 <uidvalidity> <highest> <floor> <ceiling>
//   <uid> <modseq> <info|?|->        the message's state
//   X <uid> <modseq>                 expunged at <modseq>
//   T <floor>                        expunges at or below <floor> are forgotten
//   C <ceiling>                      no modseq above <ceiling> has been handed out
// HIGHESTMODSEQ never goes back (RFC 7162 3.1.2.1), without an fsync per change: the
// ceiling is reserved RESERVE ahead and its line is fdatasync'ed before any modseq past the
// old ceiling is used (one fsync per RESERVE operations). The records themselves are not
// synced: a power loss may drop the last ones, so after every load from disk the next
// modseq starts above the ceiling, and whatever the lost records described is found again
// by comparing the directory with the records (a renamed file, a missing file, an unknown
// UID) and stamped above the ceiling too: no client can have seen those values.
// A torn file (a last line without its newline, a line that does not parse) is rebuilt
// above the highest value and ceiling of its readable prefix; VANISHED then falls back to
// "everything not present" (RFC 7162 3.2.5.2). A missing file, in a mailbox that already
// handed out UIDs, is rebuilt from the clock (µs since the epoch), which no counter of ours
// reaches.
//
// Concurrency: callers hold the mailbox's in-process mutex around every call.
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { atomicWrite, isErrno, readIfExists } from './fsutil.js';
import type { MailboxRef, MessageFile } from './mailbox-state.js';

export const MODSEQ_FILE = 'mailserver.modseq';

/** How far ahead the durable ceiling is reserved (see the top of this file). */
export const RESERVE = 1000;

/** Expunged UIDs remembered per mailbox; older ones are answered by the VANISHED fallback. */
export const MAX_EXPUNGED = 10_000;

interface Entry {
  m: number;
  /** Maildir info letters; '?' = not known yet (own append), adopted at the next sync. */
  info: string;
}

export interface ModseqState {
  uidValidity: number;
  highest: number;
  /** Expunges with modseq <= floor are forgotten (trimmed, or before a rebuild). */
  floor: number;
  /** Durable bound on every modseq handed out (see the top of this file). */
  ceiling: number;
  /** Loaded from disk and not changed since: the next modseq starts above the ceiling. */
  fromDisk: boolean;
  entries: Map<number, Entry>;
  /** Ascending by modseq. */
  expunged: Array<[uid: number, modseq: number]>;
  journalLines: number;
  stamp: string;
}

const stampOf = (st: { ino: number; size: number; mtimeMs: number }): string => `${st.ino}:${st.size}:${st.mtimeMs}`;

const enc = (info: string): string => (info === '' ? '-' : info === '?' ? '?' : encodeURIComponent(info));
const dec = (s: string): string => (s === '-' ? '' : s === '?' ? '?' : decodeURIComponent(s));

const NUM = /^\d{1,16}$/;

/** Parses a journal; `torn` when it stops short of a clean end. Pure. */
export function parseModseqFile(text: string): { state: Omit<ModseqState, 'stamp'>; torn: boolean } | null {
  const lines = text.split('\n');
  const head = /^MODSEQ1 (\d{1,10}) (\d{1,16}) (\d{1,16})(?: (\d{1,16}))?$/.exec(lines[0] ?? '');
  if (!head) return null;
  const state: Omit<ModseqState, 'stamp'> = {
    uidValidity: Number(head[1]),
    highest: Number(head[2]),
    floor: Number(head[3]),
    ceiling: Number(head[4] ?? 0),
    fromDisk: true,
    entries: new Map(),
    expunged: [],
    journalLines: 0,
  };
  // A whole file ends with '\n', so the split leaves one empty string last.
  let torn = lines.at(-1) !== '';
  const body = lines.slice(1, torn ? undefined : -1);
  for (const line of body) {
    const p = line.split(' ');
    try {
      if (p[0] === 'X' && p.length === 3 && NUM.test(p[1]!) && NUM.test(p[2]!)) {
        const uid = Number(p[1]);
        const m = Number(p[2]);
        state.entries.delete(uid);
        state.expunged.push([uid, m]);
        if (m > state.highest) state.highest = m;
      } else if (p[0] === 'T' && p.length === 2 && NUM.test(p[1]!)) {
        state.floor = Math.max(state.floor, Number(p[1]));
      } else if (p[0] === 'C' && p.length === 2 && NUM.test(p[1]!)) {
        state.ceiling = Math.max(state.ceiling, Number(p[1]));
      } else if (p.length === 3 && NUM.test(p[0]!) && NUM.test(p[1]!)) {
        const m = Number(p[1]);
        state.entries.set(Number(p[0]), { m, info: dec(p[2]!) });
        if (m > state.highest) state.highest = m;
      } else {
        torn = true;
        break;
      }
    } catch {
      torn = true; // a malformed %-escape
      break;
    }
    state.journalLines++;
  }
  state.expunged.sort((a, b) => a[1] - b[1]);
  state.expunged = state.expunged.filter(([, m]) => m > state.floor);
  return { state, torn };
}

function serialize(s: ModseqState): string {
  const out = [`MODSEQ1 ${s.uidValidity} ${s.highest} ${s.floor} ${s.ceiling}`];
  for (const [uid, e] of s.entries) out.push(`${uid} ${e.m} ${enc(e.info)}`);
  for (const [uid, m] of s.expunged) out.push(`X ${uid} ${m}`);
  return out.join('\n') + '\n';
}

/** Small LRU of loaded states, checked against the file's stat stamp before each use. */
class Cache {
  private readonly map = new Map<string, ModseqState>();
  constructor(private readonly cap: number) {}
  get(k: string): ModseqState | undefined {
    const v = this.map.get(k);
    if (v) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }
  set(k: string, v: ModseqState): void {
    this.map.delete(k);
    this.map.set(k, v);
    if (this.map.size > this.cap) this.map.delete(this.map.keys().next().value!);
  }
}

/** What a listing needs: the modseq of each listed UID and the mailbox's highest. */
export interface ModseqSnapshot {
  highest: number;
  of: (uid: number) => number;
}

export class Modseqs {
  private readonly cache = new Cache(200);

  constructor(private readonly logger: Logger) {}

  private file(ref: MailboxRef): string {
    return path.join(ref.dir, MODSEQ_FILE);
  }

  /** The folder's state, loaded (or rebuilt) when the file changed since we last saw it. */
  async load(ref: MailboxRef, uidValidity: number, uidNext: number): Promise<ModseqState> {
    const file = this.file(ref);
    let stamp = '';
    try {
      stamp = stampOf(await stat(file));
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
    const cached = this.cache.get(ref.dir);
    if (cached && stamp !== '' && cached.stamp === stamp && cached.uidValidity === uidValidity) return cached;
    const text = stamp === '' ? null : await readIfExists(file);
    const parsed = text === null ? null : parseModseqFile(text);
    let state: ModseqState;
    if (parsed && !parsed.torn && parsed.state.uidValidity === uidValidity) {
      state = { ...parsed.state, stamp };
    } else {
      // Never lower than anything handed out (see the top of this file).
      let base = Math.max(1, parsed ? Math.max(parsed.state.highest, parsed.state.ceiling) : 0);
      if (!parsed && uidNext > 1) base = Math.max(base, Date.now() * 1000);
      if (text !== null) {
        this.logger.warn({ dir: ref.dir, torn: parsed?.torn ?? true, uidValidityChanged: parsed ? parsed.state.uidValidity !== uidValidity : false }, 'modseq file rebuilt');
      }
      // Nothing is known about earlier expunges: VANISHED for older modseqs falls back.
      state = { uidValidity, highest: base, floor: base, ceiling: base + RESERVE, fromDisk: false, entries: new Map(), expunged: [], journalLines: 0, stamp: '' };
      await this.compact(ref, state);
    }
    this.cache.set(ref.dir, state);
    return state;
  }

  private async compact(ref: MailboxRef, state: ModseqState): Promise<void> {
    const file = this.file(ref);
    if (state.highest >= state.ceiling) state.ceiling = state.highest + RESERVE; // atomicWrite syncs
    await atomicWrite(file, serialize(state));
    state.journalLines = 0;
    state.stamp = stampOf(await stat(file));
  }

  /** The modseq for the next operation (not yet taken: callers set `highest` to it). */
  private next(state: ModseqState): number {
    // After a load, records may have been lost with the page cache: start past the ceiling.
    return (state.fromDisk ? Math.max(state.highest, state.ceiling) : state.highest) + 1;
  }

  /**
   * Appends whole lines in one write. Only a new ceiling is synced, and before the modseqs
   * that pass the old one are returned to anyone.
   */
  private async append(ref: MailboxRef, state: ModseqState, lines: string[]): Promise<void> {
    if (lines.length === 0) return;
    state.fromDisk = false;
    state.journalLines += lines.length;
    if (state.journalLines > 2 * (state.entries.size + state.expunged.length) + 1000) {
      await this.compact(ref, state);
      return;
    }
    const durable = state.highest >= state.ceiling;
    if (durable) {
      state.ceiling = state.highest + RESERVE;
      lines.unshift(`C ${state.ceiling}`);
    }
    const fh = await open(this.file(ref), 'a', 0o600);
    try {
      await fh.write(lines.join('\n') + '\n');
      if (durable) await fh.datasync();
      state.stamp = stampOf(await fh.stat());
    } finally {
      await fh.close();
    }
  }

  private trim(state: ModseqState, lines: string[]): void {
    const over = state.expunged.length - MAX_EXPUNGED;
    if (over <= 0) return;
    state.floor = state.expunged[over - 1]![1];
    state.expunged = state.expunged.slice(over);
    lines.push(`T ${state.floor}`);
  }

  /**
   * Reconciles with the directory: new files, changed info parts and vanished records get
   * one new modseq. Returns the modseq of every listed message.
   */
  async sync(ref: MailboxRef, uidValidity: number, uidNext: number, files: readonly MessageFile[]): Promise<ModseqSnapshot> {
    const state = await this.load(ref, uidValidity, uidNext);
    const next = this.next(state);
    const lines: string[] = [];
    let bumped = false;
    const present = new Set<number>();
    for (const f of files) {
      present.add(f.uid);
      const info = f.parsed.info ?? '';
      const e = state.entries.get(f.uid);
      if (e && e.info === info) continue;
      if (e && e.info === '?' && !state.fromDisk) {
        // Our own append: same state, just learnt its name (kept, so a restart knows it).
        e.info = info;
        lines.push(`${f.uid} ${e.m} ${enc(info)}`);
        continue;
      }
      // New, changed, or an append whose name we never recorded before a restart (a change
      // since may have been lost with it): a new modseq.
      state.entries.set(f.uid, { m: next, info });
      lines.push(`${f.uid} ${next} ${enc(info)}`);
      bumped = true;
    }
    if (state.entries.size > present.size) {
      for (const uid of [...state.entries.keys()]) {
        if (present.has(uid)) continue;
        state.entries.delete(uid);
        state.expunged.push([uid, next]);
        lines.push(`X ${uid} ${next}`);
        bumped = true;
      }
    }
    if (bumped) {
      state.highest = next;
      this.trim(state, lines);
    }
    await this.append(ref, state, lines);
    return { highest: state.highest, of: (uid) => state.entries.get(uid)?.m ?? state.highest };
  }

  /** The current modseq of `uid` (0 when unknown), for UNCHANGEDSINCE checks. */
  current(ref: MailboxRef, uid: number): number {
    return this.cache.get(ref.dir)?.entries.get(uid)?.m ?? 0;
  }

  /** Own flag changes: each (uid, new info) gets the operation's one new modseq. */
  async stampFlags(ref: MailboxRef, uidValidity: number, uidNext: number, changes: Array<{ uid: number; info: string }>): Promise<Map<number, number>> {
    const state = await this.load(ref, uidValidity, uidNext);
    const out = new Map<number, number>();
    const next = this.next(state);
    const lines: string[] = [];
    for (const c of changes) {
      const e = state.entries.get(c.uid);
      if (e && (e.info === c.info || e.info === '?')) {
        // No change (RFC 7162 3.1.3: a STORE that changes nothing need not bump).
        if (e.info === '?') e.info = c.info;
        out.set(c.uid, e.m);
        continue;
      }
      state.entries.set(c.uid, { m: next, info: c.info });
      lines.push(`${c.uid} ${next} ${enc(c.info)}`);
      out.set(c.uid, next);
    }
    if (lines.length > 0) {
      state.highest = next;
      await this.append(ref, state, lines);
    }
    return out;
  }

  /** Own appends (deliver, copy): returns their modseq. */
  async stampAppend(ref: MailboxRef, uidValidity: number, uidNext: number, uids: number[]): Promise<number> {
    // The mailbox's UIDs before these: a first delivery into a new folder is not a "lost file".
    const state = await this.load(ref, uidValidity, Math.min(uidNext, ...uids));
    const fresh = uids.filter((u) => !state.entries.has(u));
    if (fresh.length === 0) return state.highest;
    const next = this.next(state);
    for (const u of fresh) state.entries.set(u, { m: next, info: '?' });
    state.highest = next;
    await this.append(ref, state, fresh.map((u) => `${u} ${next} ?`));
    return next;
  }

  /** Own expunges: returns the modseq they were recorded at. */
  async stampExpunge(ref: MailboxRef, uidValidity: number, uidNext: number, uids: number[]): Promise<number> {
    const state = await this.load(ref, uidValidity, uidNext);
    const gone = uids.filter((u) => state.entries.has(u));
    if (gone.length === 0) return state.highest;
    const next = this.next(state);
    const lines: string[] = [];
    for (const u of gone) {
      state.entries.delete(u);
      state.expunged.push([u, next]);
      lines.push(`X ${u} ${next}`);
    }
    state.highest = next;
    this.trim(state, lines);
    await this.append(ref, state, lines);
    return next;
  }

  /**
   * UIDs expunged after `modseq`, ascending; null when expunges that old are no longer
   * remembered (the caller falls back to every UID that is not present, RFC 7162 3.2.5.2).
   */
  async expungedSince(ref: MailboxRef, uidValidity: number, uidNext: number, modseq: number): Promise<number[] | null> {
    const state = await this.load(ref, uidValidity, uidNext);
    if (modseq < state.floor) return null;
    const out: number[] = [];
    for (let i = state.expunged.length - 1; i >= 0; i--) {
      const [uid, m] = state.expunged[i]!;
      if (m <= modseq) break;
      out.push(uid);
    }
    return [...new Set(out)].sort((a, b) => a - b);
  }
}
