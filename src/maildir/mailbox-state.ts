// Per-mailbox view of a Maildir: the parsed dovecot-uidlist and dovecot-keywords
// (cached by stat stamp), and the sync of new/ + cur/ against the uidlist.
//
// Concurrency: callers hold the mailbox's in-process mutex around sync() and every
// mutation. Writes to dovecot-uidlist and dovecot-keywords additionally hold Dovecot's
// dotlock. Reading needs no dotlock: Dovecot replaces the uidlist by rename and appends
// whole lines with one write, so a read sees a consistent prefix.
import { randomBytes } from 'node:crypto';
import { appendFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { atomicWrite, isErrno, readIfExists } from './fsutil.js';
import { parseFileName, type ParsedFileName } from './filename.js';
import { parseKeywords, serializeKeywords, addKeywords, type KeywordTable } from './keywords.js';
import { withDotlock } from './lock.js';
import { nextUid, parseUidlist, serializeRecord, serializeUidlist, type Uidlist, type UidRecord } from './uidlist.js';
import { nextUidValidity } from './uidvalidity.js';

export const UIDLIST = 'dovecot-uidlist';
export const KEYWORDS = 'dovecot-keywords';

/** Where one mailbox lives: `home` is the user's Maildir root (holds dovecot-uidvalidity). */
export interface MailboxRef {
  home: string;
  dir: string;
  name: string;
}

export interface MessageFile {
  uid: number;
  sub: 'new' | 'cur';
  parsed: ParsedFileName;
}

export interface SyncResult {
  list: Uidlist;
  /** In UID order. */
  files: MessageFile[];
}

interface CachedUidlist {
  stamp: string;
  list: Uidlist;
  byBase: Map<string, number>;
}

type Scan = Map<string, { sub: 'new' | 'cur'; parsed: ParsedFileName }>;

/** Small LRU so caches stay bounded however many mailboxes are touched. */
class Lru<V> {
  private readonly map = new Map<string, V>();
  /** The key at the young end: asked again (10,000 times in a FETCH 1:*), it stays put, as
   *  a delete + set per call made V8 rehash the map over and over. */
  private young: string | undefined;
  constructor(private readonly cap: number) {}
  get(k: string): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined && k !== this.young) {
      this.map.delete(k);
      this.map.set(k, v);
      this.young = k;
    }
    return v;
  }
  set(k: string, v: V): void {
    this.map.delete(k);
    this.map.set(k, v);
    this.young = k;
    if (this.map.size > this.cap) this.map.delete(this.map.keys().next().value!);
  }
  deletePrefix(prefix: string): void {
    for (const k of [...this.map.keys()]) if (k === prefix || k.startsWith(prefix + path.sep)) this.map.delete(k);
    if (this.young !== undefined && !this.map.has(this.young)) this.young = undefined;
  }
}

function stampOf(st: { ino: number; size: number; mtimeMs: number }): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}`;
}

/**
 * Dovecot assigns UIDs to unknown files sorted by the time in their names (seconds,
 * then the M<usecs> field), then by name (maildir-filename.c).
 */
export function compareMaildirNames(a: string, b: string): number {
  const ta = /^(\d+)\.(?:M(\d+))?/.exec(a);
  const tb = /^(\d+)\.(?:M(\d+))?/.exec(b);
  if (ta && tb) {
    const d = Number(ta[1]) - Number(tb[1]) || Number(ta[2] ?? 0) - Number(tb[2] ?? 0);
    if (d !== 0) return d;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

export class MailboxStates {
  private readonly uidlists = new Lru<CachedUidlist>(1000);
  private readonly keywords = new Lru<{ stamp: string; table: KeywordTable }>(1000);
  /** mtime (INTERNALDATE) and computed vsize per base name, per mailbox directory. */
  private readonly meta = new Lru<Map<string, { mtime?: number; vsize?: number; size?: number }>>(200);
  /** Where each UID's file was at the last sync: opening a message must not cost a readdir
   *  of the whole mailbox (a FETCH 1:* would then be quadratic). A stale entry (flags renamed
   *  the file, or it was expunged) fails with ENOENT and the caller syncs. */
  private readonly lastFiles = new Lru<{ files: MessageFile[]; byUid: Map<number, MessageFile> | null }>(200);

  /** The last listing of new/ + cur/ per mailbox, with the directories' stamps (see scan()). */
  private readonly scans = new Lru<{ stamp: string; trusted: boolean; scan: Scan }>(200);

  /** The files last built from a scan and a uidlist, reused while both are unchanged (syncOnce). */
  private readonly built = new Lru<{ scan: Scan; list: Uidlist; stamp: string; files: MessageFile[] }>(200);

  constructor(private readonly logger: Logger) {}

  /** The file of `uid` as of the last sync, if any (may be stale: see lastFiles). */
  cachedFile(dir: string, uid: number): MessageFile | undefined {
    const entry = this.lastFiles.get(dir);
    if (!entry) return undefined;
    entry.byUid ??= new Map(entry.files.map((f) => [f.uid, f]));
    return entry.byUid.get(uid);
  }

  forget(dir: string): void {
    this.scans.deletePrefix(dir);
    this.built.deletePrefix(dir);
    this.lastFiles.deletePrefix(dir);
    this.uidlists.deletePrefix(dir);
    this.keywords.deletePrefix(dir);
    this.meta.deletePrefix(dir);
  }

  metaFor(dir: string): Map<string, { mtime?: number; vsize?: number; size?: number }> {
    let m = this.meta.get(dir);
    if (!m) {
      m = new Map();
      this.meta.set(dir, m);
    }
    return m;
  }

  async readUidlist(dir: string): Promise<CachedUidlist | null> {
    const file = path.join(dir, UIDLIST);
    let st;
    try {
      st = await stat(file);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return null;
      throw err;
    }
    const stamp = stampOf(st);
    const cached = this.uidlists.get(dir);
    if (cached && cached.stamp === stamp) return cached;
    let text = await readIfExists(file);
    if (text === null) return null;
    // An append in progress may leave a partial last line: ignore it until it is whole.
    const lastNl = text.lastIndexOf('\n');
    text = lastNl < 0 ? text : text.slice(0, lastNl + 1);
    let list: Uidlist;
    try {
      list = parseUidlist(text);
    } catch (err) {
      this.logger.warn({ dir, err: (err as Error).message }, 'unreadable dovecot-uidlist, rebuilding');
      return null;
    }
    const entry = { stamp, list, byBase: new Map(list.records.map((r) => [r.baseName, r.uid])) };
    // Only cache what we read whole; a torn read gets another stamp and is read again.
    this.uidlists.set(dir, entry);
    return entry;
  }

  private async remember(dir: string, list: Uidlist): Promise<CachedUidlist> {
    const st = await stat(path.join(dir, UIDLIST));
    const entry = { stamp: stampOf(st), list, byBase: new Map(list.records.map((r) => [r.baseName, r.uid])) };
    this.uidlists.set(dir, entry);
    return entry;
  }

  /** A fresh uidlist for a new (or uidlist-less) mailbox. Call under the dotlock. */
  async createUidlist(ref: MailboxRef): Promise<Uidlist> {
    const list: Uidlist = {
      version: 3,
      uidValidity: await nextUidValidity(ref.home),
      headerNextUid: 1,
      guid: randomBytes(16).toString('hex'),
      headerExtra: [],
      records: [],
    };
    await atomicWrite(path.join(ref.dir, UIDLIST), serializeUidlist(list));
    await this.remember(ref.dir, list);
    return list;
  }

  /** Runs fn under the uidlist dotlock with the current list (created if missing). */
  async withUidlist<T>(ref: MailboxRef, fn: (list: Uidlist, byBase: Map<string, number>) => Promise<T>): Promise<T> {
    return withDotlock(path.join(ref.dir, UIDLIST), async () => {
      let cached = await this.readUidlist(ref.dir);
      if (!cached) {
        await this.createUidlist(ref);
        cached = (await this.readUidlist(ref.dir))!;
      }
      return fn(cached.list, cached.byBase);
    });
  }

  /** Adds records with one append (Dovecot's habit), or rewrites when records were dropped. Under the dotlock. */
  async appendRecords(ref: MailboxRef, list: Uidlist, added: UidRecord[]): Promise<void> {
    if (added.length === 0) return;
    const file = path.join(ref.dir, UIDLIST);
    await appendFile(file, added.map(serializeRecord).join(''));
    const cached = this.uidlists.get(ref.dir);
    if (cached && cached.list === list) {
      // Extend the cached list in place: rebuilding it costs O(messages) per delivery,
      // which a 50,000-message INBOX turns into milliseconds of CPU for every message.
      // Safe under the dotlock: the cache was checked against the file when it was taken.
      for (const r of added) {
        list.records.push(r);
        cached.byBase.set(r.baseName, r.uid);
      }
      cached.stamp = stampOf(await stat(file));
      return;
    }
    await this.remember(ref.dir, { ...list, records: [...list.records, ...added] });
  }

  async rewrite(ref: MailboxRef, list: Uidlist): Promise<void> {
    await atomicWrite(path.join(ref.dir, UIDLIST), serializeUidlist(list));
    await this.remember(ref.dir, list);
  }

  /** One readdir of new/ then cur/: a file moving new → cur meanwhile is still seen once. */
  async scan(dir: string): Promise<Scan> {
    // A SELECT of an unchanged 10,000-message mailbox must not list and parse 10,000 names:
    // when neither new/ nor cur/ changed (same inode and mtime) the last listing stands. An
    // mtime is trusted only when it is more than a second older than that listing, because a
    // directory's mtime has the kernel's coarse granularity (a change in the same tick as our
    // readdir would not move it); Dovecot's maildir sync applies the same rule.
    const started = Date.now();
    const stamps = await Promise.all(
      (['new', 'cur'] as const).map((sub) =>
        stat(path.join(dir, sub)).then(
          (st) => ({ stamp: `${st.ino}:${st.mtimeMs}`, mtime: st.mtimeMs }),
          (err: unknown) => (isErrno(err, 'ENOENT') ? { stamp: '-', mtime: 0 } : Promise.reject(err)),
        ),
      ),
    );
    const stamp = stamps.map((x) => x.stamp).join('/');
    const prev = this.scans.get(dir);
    if (prev && prev.trusted && prev.stamp === stamp) return prev.scan;
    const out = await this.readScan(dir, prev?.scan);
    this.scans.set(dir, { stamp, trusted: stamps.every((x) => x.mtime < started - 1000), scan: out });
    return out;
  }

  /**
   * Our own flag renames, under the mailbox mutex: the listing as they left it becomes the
   * last one, still untrusted (the directories' mtimes are new), so the next sync reads the
   * directories as before but finds the names it expects and reuses what it has. A SELECT
   * right after STORE +FLAGS 1:* then parses no file name and sorts nothing. Returns the
   * files the next sync will give, if it finds no other change.
   */
  noteRenamed(dir: string, renamed: readonly MessageFile[]): MessageFile[] | undefined {
    const prev = this.scans.get(dir);
    const built = this.built.get(dir);
    if (!prev || !built || built.scan !== prev.scan || renamed.length === 0) {
      if (prev) prev.trusted = false;
      return undefined;
    }
    const scan: Scan = new Map(prev.scan);
    const byUid = new Map(renamed.map((f) => [f.uid, f]));
    for (const f of renamed) scan.set(f.parsed.baseName, { sub: f.sub, parsed: f.parsed });
    const files = built.files.map((f) => byUid.get(f.uid) ?? f);
    this.scans.set(dir, { stamp: '', trusted: false, scan });
    this.built.set(dir, { ...built, scan, files });
    this.lastFiles.set(dir, { files, byUid: null });
    return files;
  }

  /** The names in new/ and cur/; `prev` itself when they are exactly the names it holds. */
  private async readScan(dir: string, prev: Scan | undefined): Promise<Scan> {
    const lists: Array<['new' | 'cur', string[]]> = [];
    for (const sub of ['new', 'cur'] as const) {
      try {
        lists.push([sub, await readdir(path.join(dir, sub))]);
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
    }
    if (prev && sameNames(prev, lists)) return prev;
    const out: Scan = new Map();
    for (const [sub, names] of lists) {
      for (const name of names) {
        if (name.startsWith('.')) continue;
        const colon = name.indexOf(':');
        const old = prev?.get(colon < 0 ? name : name.slice(0, colon));
        const parsed = old && old.parsed.fileName === name ? old.parsed : parseFileName(name);
        out.set(parsed.baseName, old && old.parsed === parsed && old.sub === sub ? old : { sub, parsed });
      }
    }
    return out;
  }

  /** Syncs the directory with the uidlist; call under the mailbox mutex. */
  async sync(ref: MailboxRef): Promise<SyncResult> {
    const result = await this.syncOnce(ref);
    if (this.lastFiles.get(ref.dir)?.files !== result.files) this.lastFiles.set(ref.dir, { files: result.files, byUid: null });
    return result;
  }

  private async syncOnce(ref: MailboxRef): Promise<SyncResult> {
    const first = await this.scan(ref.dir);
    const cached = await this.readUidlist(ref.dir);
    // The same directory listing and the same uidlist (same file stamp: appends update it)
    // give the same files: a warm SELECT of 10,000 messages reuses the array instead of
    // checking and sorting 10,000 entries again.
    const memo = this.built.get(ref.dir);
    if (cached && memo && memo.scan === first && memo.list === cached.list && memo.stamp === cached.stamp) {
      return { list: cached.list, files: memo.files };
    }
    if (cached && [...first.keys()].every((b) => cached.byBase.has(b))) {
      const files = build(cached.byBase, first);
      this.built.set(ref.dir, { scan: first, list: cached.list, stamp: cached.stamp, files });
      return { list: cached.list, files };
    }
    return this.withUidlist(ref, async (list, byBase) => {
      const second = await this.scan(ref.dir);
      const unknown = [...second.keys()].filter((b) => !byBase.has(b)).sort(compareMaildirNames);
      if (unknown.length === 0) return { list, files: build(byBase, second) };
      let uid = nextUid(list);
      const added = unknown.map((baseName) => ({ uid: uid++, baseName, ext: [] as string[] }));
      // Records whose file was in neither listing are expunged; drop them while rewriting.
      const kept = list.records.filter((r) => first.has(r.baseName) || second.has(r.baseName));
      if (kept.length !== list.records.length) {
        await this.rewrite(ref, { ...list, headerNextUid: uid, records: [...kept, ...added] });
      } else {
        await this.appendRecords(ref, list, added);
      }
      const now = (await this.readUidlist(ref.dir))!;
      this.logger.debug({ dir: ref.dir, added: added.length }, 'assigned uids to new files');
      return { list: now.list, files: build(now.byBase, second) };
    });
  }

  async readKeywords(dir: string): Promise<KeywordTable> {
    const file = path.join(dir, KEYWORDS);
    let st;
    try {
      st = await stat(file);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return [];
      throw err;
    }
    const stamp = stampOf(st);
    const cached = this.keywords.get(dir);
    if (cached && cached.stamp === stamp) return cached.table;
    const table = parseKeywords((await readIfExists(file)) ?? '');
    this.keywords.set(dir, { stamp, table });
    return table;
  }

  /** Makes sure every keyword has a letter (under Dovecot's dotlock on the file). */
  async ensureKeywords(dir: string, keywords: string[]): Promise<KeywordTable> {
    const table = await this.readKeywords(dir);
    const probe = [...table];
    if (keywords.length === 0 || !addKeywords(probe, keywords)) return table;
    const file = path.join(dir, KEYWORDS);
    return withDotlock(file, async () => {
      const fresh = [...(await this.readKeywords(dir))];
      if (addKeywords(fresh, keywords)) {
        await atomicWrite(file, serializeKeywords(fresh));
        this.keywords.set(dir, { stamp: stampOf(await stat(file)), table: fresh });
      }
      return fresh;
    });
  }
}

/** The file names of a scan by directory, made once per scan (a Set lookup per listed name
 *  is the cheapest way to tell that nothing changed). */
const scanNames = new WeakMap<Scan, { new: Set<string>; cur: Set<string> }>();

function sameNames(prev: Scan, lists: ReadonlyArray<['new' | 'cur', string[]]>): boolean {
  let names = scanNames.get(prev);
  if (!names) {
    names = { new: new Set(), cur: new Set() };
    for (const f of prev.values()) names[f.sub].add(f.parsed.fileName);
    scanNames.set(prev, names);
  }
  let n = 0;
  for (const [sub, list] of lists) {
    const set = names[sub];
    for (const name of list) {
      if (name.charCodeAt(0) === 0x2e) continue; // '.'
      if (!set.has(name)) return false;
      n++;
    }
  }
  // As many as before: a base name in both new/ and cur/ (a scan keeps one) fails here.
  return n === prev.size;
}

function build(byBase: Map<string, number>, scan: Scan): MessageFile[] {
  const files: MessageFile[] = [];
  for (const [base, f] of scan) {
    const uid = byBase.get(base);
    if (uid !== undefined) files.push({ uid, sub: f.sub, parsed: f.parsed });
  }
  return files.sort((a, b) => a.uid - b.uid);
}
