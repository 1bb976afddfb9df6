// The parsed-message cache: each message's scanned MIME structure (envelope headers,
// body structure, offsets, the header fields SEARCH/SORT/THREAD read) kept in our own file
// beside the Maildir, `mailserver.cache`, never in Dovecot's dovecot.index.cache (ARCHITECTURE:
// the server's index files can be deleted at any time and are rebuilt from the Maildir).
//
// File format, one record per line, appended (never rewritten in place):
//   MAILSERVER-CACHE 1 S<structure version>                       first line
//   <base name> TAB <size> TAB <mtime ms> TAB <encoded structure> TAB <fnv1a hex>
// A record is served only when the message's base name, its size on disk and its mtime all
// match and the structure version is current, so a message whose file changed underneath
// (restored, replaced by another program) is parsed again rather than served stale. A line
// without its newline (a torn append after a crash), or whose checksum does not match
// (garbage), is ignored; a later record for the same base name wins.
//
// Layers: a bounded in-memory LRU of decoded structures (so a warm FETCH 1:* of 10,000
// messages touches no file), then the mailbox's file, read once per process in passes that
// yield to the event loop, then the message itself (the caller parses and put()s it).
// Writes are batched per mailbox, appended asynchronously, one append at a time per file.
// Expunged records are compacted away when they outnumber the live ones.
import { open, readFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { decodeStructure, encodeStructure, STRUCTURE_VERSION } from '../mime/cache.js';
import type { MimePart } from '../mime/types.js';
import { atomicWrite, isErrno } from './fsutil.js';

export const CACHE_FILE = 'mailserver.cache';
const HEADER = `MAILSERVER-CACHE 1 S${STRUCTURE_VERSION}\n`;
/** Records decoded per pass before yielding (setImmediate) while a mailbox file loads. */
const PASS = 250;
/** Dead records tolerated before a compaction rewrite (and at least the live count). */
const MIN_DEAD_FOR_COMPACTION = 256;

/** What identifies one stored version of a message. */
export interface CacheKey {
  baseName: string;
  /** Size of the file on disk (stat), not the S= of its name, which a restore may not match. */
  size: number;
  mtime: number;
}

interface MemEntry {
  /** Its key in `mem` (dir NUL base name), and the base name alone (for `byDir`). */
  k: string;
  base: string;
  dir: string;
  size: number;
  mtime: number;
  part: MimePart;
  bytes: number;
  /** Used since it was last placed at the young end: eviction gives it a second chance. */
  hot: boolean;
}

interface DiskEntry {
  size: number;
  mtime: number;
  offset: number;
  length: number;
}

/** One mailbox's file: what is in it, and what waits to be appended. */
interface MailboxFile {
  file: string;
  loading: Promise<void> | null;
  /** Valid records by base name (the last one per name). */
  index: Map<string, DiskEntry>;
  /** Lines in the file that are not in the index (replaced, expunged or damaged). */
  dead: number;
  /** Our idea of the file's size; a different size at the next append means someone else touched it. */
  size: number;
  /** False when the file ends in a torn record: the next append starts on a new line. */
  clean: boolean;
  pending: string[];
  /** Set while pending lines are scheduled or being written. */
  writing: Promise<void> | null;
}

function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16);
}

/** A rough footprint of a decoded structure, for the memory bound. */
function footprint(encodedLength: number): number {
  return encodedLength * 3 + 512;
}

function usableName(baseName: string): boolean {
  return /^[\x21-\x7e]+$/.test(baseName);
}

/** The file stays ASCII, so string offsets are byte offsets: decoded parameters (RFC 2231)
 *  may hold any character, and JSON allows \u escapes for all of them. */
function asciiJson(s: string): string {
  return s.replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

const yieldTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

export interface MessageCacheOptions {
  logger: Logger;
  /** Bound of the in-memory layer over all mailboxes, in (estimated) bytes. */
  maxBytes?: number;
}

export class MessageCache {
  private readonly mem = new Map<string, MemEntry>();
  /** The same entries by directory, then base name: peek() looks up without building a
   *  key string (a concatenation and a fresh hash per message of a FETCH 1:*). */
  private readonly byDir = new Map<string, Map<string, MemEntry>>();
  private memBytes = 0;
  private readonly files = new Map<string, MailboxFile>();
  private readonly maxBytes: number;
  private readonly logger: Logger;

  constructor(opts: MessageCacheOptions) {
    this.logger = opts.logger;
    this.maxBytes = opts.maxBytes ?? 256 * 1024 * 1024;
  }

  /** The in-memory layer only: no I/O, no await (the warm FETCH path). */
  peek(dir: string, key: CacheKey): MimePart | undefined {
    const e = this.byDir.get(dir)?.get(key.baseName);
    if (!e) return undefined;
    const k = e.k;
    if (e.size !== key.size || e.mtime !== key.mtime) {
      this.dropMem(k, e);
      return undefined;
    }
    // Second chance (CLOCK) instead of LRU: a hit only marks the entry, and eviction moves
    // marked entries to the young end. Moving on every hit (a delete + set in `mem`) cost as
    // much as the rest of a warm FETCH 1:* of 10,000 messages.
    e.hot = true;
    return e.part;
  }

  /** Memory, then the mailbox's cache file (read once per process). */
  async get(dir: string, key: CacheKey): Promise<MimePart | undefined> {
    const hit = this.peek(dir, key);
    if (hit) return hit;
    const mf = this.mailbox(dir);
    await (mf.loading ??= this.load(mf, dir));
    const hit2 = this.peek(dir, key);
    if (hit2) return hit2;
    const d = mf.index.get(key.baseName);
    if (!d || d.size !== key.size || d.mtime !== key.mtime) return undefined;
    // Past the memory bound at load time: read just this record.
    const line = await this.readRecord(mf.file, d).catch(() => null);
    const rec = line === null ? null : parseRecord(line);
    if (!rec || rec.baseName !== key.baseName || rec.size !== key.size || rec.mtime !== key.mtime) {
      mf.index.delete(key.baseName);
      mf.dead++;
      return undefined;
    }
    const part = decodeStructure(rec.encoded);
    if (part) this.remember(dir, key, part, rec.encoded.length);
    return part ?? undefined;
  }

  /** A freshly parsed structure: kept in memory and appended to the mailbox's file. */
  put(dir: string, key: CacheKey, part: MimePart): void {
    if (!usableName(key.baseName)) return;
    const encoded = asciiJson(encodeStructure(part));
    this.remember(dir, key, part, encoded.length);
    const mf = this.mailbox(dir);
    const body = `${key.baseName}\t${key.size}\t${key.mtime}\t${encoded}`;
    mf.pending.push(`${body}\t${fnv1a(body)}\n`);
    if (mf.index.has(key.baseName)) mf.dead++;
    // Offsets are filled in when written; until then a memory hit serves it.
    this.schedule(mf, dir);
  }

  /** Messages expunged from `dir`: their records die (compacted away later). */
  forget(dir: string, baseNames: Iterable<string>): void {
    const mf = this.files.get(dir);
    for (const b of baseNames) {
      const k = dir + '\0' + b;
      const e = this.mem.get(k);
      if (e) this.dropMem(k, e);
      if (mf?.index.delete(b)) mf.dead++;
    }
    if (mf && this.needsCompaction(mf)) this.schedule(mf, dir);
  }

  /**
   * A listing of `dir` found `live` messages: when the file holds many more records than
   * that (expunged by another program, so forget() never heard of them), drop the records
   * of names not in the listing and let compaction rewrite the file.
   */
  reconcile(dir: string, live: number, names: () => Iterable<string>): void {
    const mf = this.files.get(dir);
    if (!mf || mf.index.size <= live + MIN_DEAD_FOR_COMPACTION) return;
    const keep = new Set(names());
    for (const b of [...mf.index.keys()]) {
      if (!keep.has(b)) {
        mf.index.delete(b);
        mf.dead++;
      }
    }
    if (this.needsCompaction(mf)) this.schedule(mf, dir);
  }

  /** The mailbox directory went away or moved (delete, rename): drop what we know of it. */
  forgetMailbox(dir: string): void {
    for (const [d, mf] of this.files) {
      if (d === dir || d.startsWith(dir + path.sep)) {
        mf.index.clear();
        mf.pending = [];
        this.files.delete(d);
      }
    }
    for (const [k, e] of this.mem) if (e.dir === dir || e.dir.startsWith(dir + path.sep)) this.dropMem(k, e);
  }

  /** Waits for every scheduled append (store close). */
  async flush(): Promise<void> {
    for (;;) {
      const busy = [...this.files.values()].map((f) => f.writing).filter((w): w is Promise<void> => w !== null);
      if (busy.length === 0) return;
      await Promise.all(busy);
    }
  }

  // ---- internals -------------------------------------------------------------------------

  private mailbox(dir: string): MailboxFile {
    let mf = this.files.get(dir);
    if (!mf) {
      mf = { file: path.join(dir, CACHE_FILE), loading: null, index: new Map(), dead: 0, size: -1, clean: true, pending: [], writing: null };
      this.files.set(dir, mf);
    }
    return mf;
  }

  private remember(dir: string, key: CacheKey, part: MimePart, encodedLength: number): void {
    const k = dir + '\0' + key.baseName;
    const old = this.mem.get(k);
    if (old) this.dropMem(k, old);
    const bytes = footprint(encodedLength);
    if (bytes > this.maxBytes) return;
    const e: MemEntry = { k, base: key.baseName, dir, size: key.size, mtime: key.mtime, part, bytes, hot: false };
    this.mem.set(k, e);
    let inDir = this.byDir.get(dir);
    if (!inDir) this.byDir.set(dir, (inDir = new Map()));
    inDir.set(e.base, e);
    this.memBytes += bytes;
    while (this.memBytes > this.maxBytes) {
      const [oldestKey, oldest] = this.mem.entries().next().value as [string, MemEntry];
      if (oldest.hot && oldest !== e) {
        oldest.hot = false;
        this.mem.delete(oldestKey);
        this.mem.set(oldestKey, oldest);
        continue;
      }
      this.dropMem(oldestKey, oldest);
    }
  }

  private dropMem(k: string, e: MemEntry): void {
    this.mem.delete(k);
    const inDir = this.byDir.get(e.dir);
    if (inDir?.get(e.base) === e) {
      inDir.delete(e.base);
      if (inDir.size === 0) this.byDir.delete(e.dir);
    }
    this.memBytes -= e.bytes;
  }

  /** Reads the mailbox's file once: index every valid record, decode into memory while it fits. */
  private async load(mf: MailboxFile, dir: string): Promise<void> {
    let buf: Buffer;
    try {
      buf = await readFile(mf.file);
    } catch (err) {
      if (!isErrno(err, 'ENOENT', 'ENOTDIR')) this.logger.warn({ err, dir }, 'cannot read message cache, rebuilding');
      mf.size = -1;
      return;
    }
    const text = buf.toString('latin1');
    if (!text.startsWith(HEADER)) {
      // Another format or structure version: every entry reads as missing; start afresh.
      if (text.length > 0) this.logger.info({ dir }, 'message cache of another version, rebuilding');
      mf.size = -1;
      mf.dead = 0;
      return;
    }
    mf.size = buf.length;
    let pos = HEADER.length;
    let n = 0;
    let budget = this.maxBytes - this.memBytes;
    while (pos < text.length) {
      const nl = text.indexOf('\n', pos);
      if (nl < 0) {
        // A torn last record (crash mid-append): ignored; the next append starts a new line.
        mf.dead++;
        mf.clean = false;
        break;
      }
      const line = text.slice(pos, nl);
      const rec = parseRecord(line);
      if (!rec) mf.dead++;
      else {
        if (mf.index.has(rec.baseName)) mf.dead++;
        mf.index.set(rec.baseName, { size: rec.size, mtime: rec.mtime, offset: pos, length: nl - pos });
        const k = dir + '\0' + rec.baseName;
        if (budget > 0 && !this.mem.has(k)) {
          const part = decodeStructure(rec.encoded);
          if (part) {
            this.remember(dir, rec, part, rec.encoded.length);
            budget -= footprint(rec.encoded.length);
          }
        }
      }
      pos = nl + 1;
      // Decoding 10,000 records takes a while: let other sessions run between passes.
      if (++n % PASS === 0) await yieldTurn();
    }
    if (n > 0) this.logger.debug({ dir, records: mf.index.size, dead: mf.dead }, 'message cache loaded');
  }

  private async readRecord(file: string, d: DiskEntry): Promise<string> {
    const fh = await open(file, 'r');
    try {
      const buf = Buffer.alloc(d.length);
      await fh.read(buf, 0, d.length, d.offset);
      return buf.toString('latin1');
    } finally {
      await fh.close();
    }
  }

  private needsCompaction(mf: MailboxFile): boolean {
    return mf.dead >= MIN_DEAD_FOR_COMPACTION && mf.dead > mf.index.size;
  }

  private schedule(mf: MailboxFile, dir: string): void {
    if (mf.writing) return; // the running writer picks the new lines up before it ends
    // Batch: everything put() during this turn (a FETCH loop's cold misses) goes in one append.
    mf.writing = new Promise<void>((r) => setImmediate(r))
      .then(() => this.write(mf, dir))
      .catch((err: unknown) => this.logger.warn({ err, dir }, 'message cache write failed'))
      .finally(() => {
        mf.writing = null;
        if ((mf.pending.length > 0 || this.needsCompaction(mf)) && this.files.get(dir) === mf) this.schedule(mf, dir);
      });
  }

  private async write(mf: MailboxFile, dir: string): Promise<void> {
    // Load first, so offsets and the dead count describe the file we append to.
    await (mf.loading ??= this.load(mf, dir));
    if (this.needsCompaction(mf)) {
      await this.compact(mf, dir);
      return;
    }
    if (mf.pending.length === 0) return;
    const lines = mf.pending;
    mf.pending = [];
    let fh: FileHandle;
    try {
      fh = await open(mf.file, 'a', 0o600);
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'ENOTDIR')) return; // the mailbox was deleted or renamed meanwhile
      throw err;
    }
    try {
      const { size } = await fh.stat();
      let prefix = mf.clean ? '' : '\n';
      mf.clean = true;
      if (size !== mf.size) {
        // Deleted, truncated or written by someone else since we read it: what we knew of its
        // offsets no longer holds. Memory keeps serving; the file restarts from here.
        mf.index.clear();
        mf.dead = 0;
        prefix = size === 0 ? HEADER : '\n'; // a fresh file gets its header; a foreign tail is cut off
        if (size !== 0 && mf.size !== -1) this.logger.info({ dir }, 'message cache changed underneath');
        if (size !== 0 && mf.size === -1) {
          // A file we could not use (other version, damaged): replace it rather than append.
          await fh.close();
          await atomicWrite(mf.file, HEADER);
          fh = await open(mf.file, 'a', 0o600);
          prefix = '';
          mf.size = HEADER.length;
          mf.clean = true;
        } else {
          mf.size = size;
        }
      }
      const data = Buffer.from(prefix + lines.join(''), 'latin1');
      await fh.write(data);
      let off = mf.size + prefix.length;
      for (const l of lines) {
        const tab = l.indexOf('\t');
        const rec = parseRecord(l.slice(0, -1));
        if (rec) mf.index.set(l.slice(0, tab), { size: rec.size, mtime: rec.mtime, offset: off, length: l.length - 1 });
        off += l.length;
      }
      mf.size += data.length;
    } finally {
      await fh.close().catch(() => undefined);
    }
  }

  /** Rewrites the file with live records only (atomic rename: a reader sees old or new). */
  private async compact(mf: MailboxFile, dir: string): Promise<void> {
    let buf: Buffer;
    try {
      buf = await readFile(mf.file);
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'ENOTDIR')) return;
      throw err;
    }
    if (buf.length !== mf.size) {
      mf.dead = 0; // changed underneath: the next append starts it over
      return;
    }
    const text = buf.toString('latin1');
    const out: string[] = [HEADER];
    const index = new Map<string, DiskEntry>();
    let off = HEADER.length;
    let n = 0;
    for (const [base, d] of mf.index) {
      const line = text.slice(d.offset, d.offset + d.length);
      if (!parseRecord(line)) continue;
      index.set(base, { ...d, offset: off });
      out.push(line + '\n');
      off += d.length + 1;
      if (++n % (PASS * 4) === 0) await yieldTurn();
    }
    for (const l of mf.pending) out.push(l);
    const pending = mf.pending;
    mf.pending = [];
    await atomicWrite(mf.file, out.join('')).catch((err: unknown) => {
      mf.pending = [...pending, ...mf.pending];
      throw err;
    });
    for (const l of pending) {
      const rec = parseRecord(l.slice(0, -1));
      if (rec) index.set(rec.baseName, { size: rec.size, mtime: rec.mtime, offset: off, length: l.length - 1 });
      off += l.length;
    }
    const before = mf.index.size + mf.dead;
    mf.index = index;
    mf.dead = 0;
    mf.size = off;
    mf.clean = true;
    this.logger.debug({ dir, before, after: index.size }, 'message cache compacted');
  }
}

/** One record line (without its newline), or null when damaged. */
function parseRecord(line: string): { baseName: string; size: number; mtime: number; encoded: string } | null {
  const last = line.lastIndexOf('\t');
  if (last < 0) return null;
  const body = line.slice(0, last);
  if (fnv1a(body) !== line.slice(last + 1)) return null;
  const t1 = body.indexOf('\t');
  const t2 = body.indexOf('\t', t1 + 1);
  const t3 = body.indexOf('\t', t2 + 1);
  if (t1 <= 0 || t2 < 0 || t3 < 0) return null;
  const size = Number(body.slice(t1 + 1, t2));
  const mtime = Number(body.slice(t2 + 1, t3));
  if (!Number.isFinite(size) || !Number.isFinite(mtime)) return null;
  return { baseName: body.slice(0, t1), size, mtime, encoded: body.slice(t3 + 1) };
}
