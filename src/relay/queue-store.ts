// The durable outbound queue on disk. One directory, two kinds of file per message:
//
//   <id>.msg  the message bytes, then a trailer with the envelope as JSON; the trailer is
//             the commit marker: a file without a valid one is still being received (or
//             was, when the server died: the client got no 250) and is never delivered
//   <id>.log  the per-recipient journal: one JSON line per state change, fsynced at once
//
// Commit order (what makes "250" a promise): <id>.msg is created under its final name when
// DATA starts, so its directory entry joins the first journal commit; at the end the
// envelope trailer is appended, the file fsynced and the directory fsynced (which then has
// nothing new to commit, and is group-committed besides); only then does the client get
// 250. No rename: that would cost a second journal commit per message. An accepted message
// costs one file fsync, and usually one write: bytes are buffered (128 KiB at most) and go
// out with the trailer. Incomplete files are removed at start-up; while running, ids still
// being written are skipped by list() (`writing`), never deleted. The trailer cannot occur
// inside received bytes by accident: they are CRLF-normalised, so "}\n" + 16 hex digits at
// the end can only be ours, and the JSON must name this id and this size.
// The journal is append-only; replaying it gives each recipient's state, so a crash between
// two recipients loses nothing and repeats nothing that was recorded.
import { open, readdir, readFile, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

export interface QueueRecipient {
  address: string;
  /** RFC 3461 NOTIFY values as given (NEVER, SUCCESS, FAILURE, DELAY); absent = default. */
  notify?: string[];
  /** RFC 3461 ORCPT as given ("rfc822;addr"). */
  orcpt?: string;
}

export interface QueueEnvelope {
  id: string;
  /** '' for the null sender (our own bounces). */
  mailFrom: string;
  /** Authenticated user that submitted it ('' for messages the server made itself). */
  user: string;
  recipients: QueueRecipient[];
  dsn?: { ret?: 'FULL' | 'HDRS'; envid?: string };
  /** Header lines put before the stored bytes when the message is sent (Received, DKIM-Signature). */
  prefix: string;
  /**
   * DKIM-sign for this domain before sending: the signature is not yet in `prefix`. Intake
   * signs alongside the fsync and clears this in memory; a message read back from disk
   * (after a restart) is signed by the worker from its stored bytes.
   */
  dkim?: string;
  /** Length of the stored message bytes (without prefix and trailer). */
  size: number;
  createdAt: number;
  /** The client said BODY=8BITMIME / SMTPUTF8: passed on to the next hop. */
  eightBit?: boolean;
  smtpUtf8?: boolean;
}

export type RecipientStatus = 'queued' | 'deferred' | 'delivered' | 'failed';

export type JournalRecord =
  | { t: 'rcpt'; rcpt: string; status: 'deferred' | 'delivered' | 'failed'; at: number; reply?: string; next?: number; remote?: boolean }
  | { t: 'retry'; at: number }
  | { t: 'warned'; at: number }
  | { t: 'bounced'; at: number };

export interface RecipientState {
  address: string;
  status: RecipientStatus;
  attempts: number;
  lastReply?: string;
  next: number;
}

export interface QueueItem {
  env: QueueEnvelope;
  rcpts: RecipientState[];
  warned: boolean;
  bounced: boolean;
  journalBytes: number;
}

const TRAILER_LEN = 17; // "\n" + 16 hex digits: the JSON's length

export class SpoolFullError extends Error {
  readonly code = 'spool-full';
  constructor(message = 'queue spool full') {
    super(message);
  }
}

export function newQueueId(now = Date.now()): string {
  // Time first, so a directory listing sorts oldest first; 48 random bits for uniqueness.
  return `${now.toString(36).padStart(9, '0')}${randomBytes(6).toString('hex')}`;
}

const ID = /^[0-9a-z]{9}[0-9a-f]{12}$/;
export const isQueueId = (id: string): boolean => ID.test(id);

export class QueueStore {
  constructor(readonly dir: string) {}

  msgPath(id: string): string {
    if (!isQueueId(id)) throw new Error(`not a queue id: ${id}`);
    return join(this.dir, `${id}.msg`);
  }
  private logPath(id: string): string {
    return join(this.dir, `${id}.log`);
  }

  async init(): Promise<void> {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  /** Ids whose <id>.msg this process is still writing (no trailer yet): list() skips them. */
  readonly writing = new Set<string>();

  /**
   * Starts receiving a message into <id>.msg (not committed until its trailer is fsynced).
   * The file is opened in the background: bytes are buffered meanwhile, so a client's DATA
   * never waits for the open. Its failure surfaces at the first flush or at commit.
   */
  async create(id: string): Promise<QueueWriter> {
    const path = this.msgPath(id);
    this.writing.add(id);
    const fh = open(path, 'wx', 0o600);
    // The entry exists once open succeeds: make it durable then, while the client is still
    // sending, so commit() finds it done and only waits for the file's own fsync.
    const entry = fh.then(() => this.syncDir());
    entry.catch(() => {});
    return new QueueWriter(this, id, path, fh, entry);
  }

  private dirHandle: Promise<FileHandle> | null = null;
  private dirSyncRunning: Promise<void> | null = null;
  private dirSyncNext: Promise<void> | null = null;

  /**
   * Makes a renamed, created or removed entry durable. The directory stays open between calls.
   * Group commit: a directory fsync covers every entry changed before it started, so callers
   * that arrive while one runs share the single next one instead of queueing one each (with 8
   * connections, about a third of the directory fsyncs).
   */
  syncDir(): Promise<void> {
    if (!this.dirSyncRunning) return this.startDirSync();
    const run = (): Promise<void> => {
      this.dirSyncNext = null;
      return this.startDirSync();
    };
    this.dirSyncNext ??= this.dirSyncRunning.then(run, run);
    return this.dirSyncNext;
  }

  private startDirSync(): Promise<void> {
    const p = (async () => {
      this.dirHandle ??= open(this.dir, 'r');
      try {
        await (await this.dirHandle).sync();
      } catch (err) {
        this.dirHandle = null;
        throw err;
      }
    })();
    this.dirSyncRunning = p;
    const clear = (): void => {
      if (this.dirSyncRunning === p) this.dirSyncRunning = null;
    };
    p.then(clear, clear);
    return p;
  }

  async close(): Promise<void> {
    const h = this.dirHandle;
    this.dirHandle = null;
    if (h) await (await h).close().catch(() => {});
  }

  /**
   * Committed ids, oldest first, without those this process is still writing. `cleanTmp`
   * (start-up only, before any writer exists) removes leftovers of transactions that never
   * got 250: .msg files without a valid trailer, .tmp files of the older layout, and
   * journals whose message is gone.
   */
  async list(opts: { cleanTmp?: boolean } = {}): Promise<string[]> {
    const names = await readdir(this.dir);
    const ids: string[] = [];
    const committed = new Set<string>();
    for (const n of names) {
      if (!n.endsWith('.msg')) continue;
      const id = n.slice(0, -4);
      if (!isQueueId(id) || this.writing.has(id)) continue;
      if (opts.cleanTmp && !(await this.isComplete(id))) {
        await rm(join(this.dir, n), { force: true });
        continue;
      }
      committed.add(id);
      ids.push(id);
    }
    if (opts.cleanTmp) {
      for (const n of names) if (n.endsWith('.tmp') || (n.endsWith('.log') && !committed.has(n.slice(0, -4)))) await rm(join(this.dir, n), { force: true });
    }
    return ids.sort();
  }

  private async isComplete(id: string): Promise<boolean> {
    try {
      await this.readEnvelope(id);
      return true;
    } catch (err) {
      if ((err as Error).name === 'IncompleteMessage' || err instanceof SyntaxError) return false;
      throw err;
    }
  }

  /** The envelope from the trailer; an IncompleteMessage error when there is no valid one. */
  async readEnvelope(id: string): Promise<QueueEnvelope> {
    const fh = await open(this.msgPath(id), 'r');
    try {
      const { size } = await fh.stat();
      const bad = (): Error => Object.assign(new Error(`queue entry ${id} has no complete trailer`), { name: 'IncompleteMessage' });
      if (size < TRAILER_LEN + 3) throw bad();
      const tail = Buffer.alloc(TRAILER_LEN);
      await fh.read(tail, 0, TRAILER_LEN, size - TRAILER_LEN);
      const hex = tail.subarray(1).toString('latin1');
      if (tail[0] !== 0x0a || !/^[0-9a-f]{16}$/.test(hex)) throw bad();
      const len = parseInt(hex, 16);
      if (len < 2 || len > size - TRAILER_LEN - 1) throw bad();
      const json = Buffer.alloc(len + 1);
      await fh.read(json, 0, len + 1, size - TRAILER_LEN - len - 1);
      if (json[0] !== 0x0a) throw bad();
      let env: QueueEnvelope;
      try {
        env = JSON.parse(json.subarray(1).toString('utf8')) as QueueEnvelope;
      } catch {
        throw bad();
      }
      if (env?.id !== id || env.size !== size - TRAILER_LEN - len - 1) throw bad();
      return env;
    } finally {
      await fh.close();
    }
  }

  /**
   * Bodies of messages just committed whole from memory, so their first delivery attempt
   * (a moment later, normally) relays them without reading the file back: no open, read and
   * close through the thread pool. Only a read cache: the file is the durable copy, and a
   * message is dropped from here when removed, after its first attempt, or when the cache
   * is full (then it is simply read from disk).
   */
  private readonly bodies = new Map<string, Buffer[]>();
  private bodyBytes = 0;
  static readonly BODY_CACHE_BYTES = 16 * 1024 * 1024;

  keepBody(id: string, bufs: Buffer[], size: number): void {
    if (this.bodyBytes + size > QueueStore.BODY_CACHE_BYTES || this.bodies.has(id)) return;
    this.bodies.set(id, bufs);
    this.bodyBytes += size;
  }

  /** Forgets the in-memory copy of a message's body (the file stays). */
  dropBody(id: string): void {
    const b = this.bodies.get(id);
    if (!b) return;
    this.bodies.delete(id);
    for (const x of b) this.bodyBytes -= x.length;
  }

  /** Where the stored bytes are, for the relay thread: the memory copy when there is one, else the file. */
  storedBody(env: QueueEnvelope): { chunks: Buffer[] | null; path: string; size: number } {
    return { chunks: this.bodies.get(env.id) ?? null, path: this.msgPath(env.id), size: env.size };
  }

  /** The stored message bytes (without the prefix). */
  openBody(env: QueueEnvelope): Readable {
    const mem = this.bodies.get(env.id);
    if (mem) return Readable.from(mem, { objectMode: false });
    if (env.size === 0) return createReadStream(this.msgPath(env.id), { start: 0, end: -1 });
    return createReadStream(this.msgPath(env.id), { start: 0, end: env.size - 1 });
  }

  async readJournal(id: string): Promise<{ records: JournalRecord[]; bytes: number }> {
    let text: string;
    try {
      text = await readFile(this.logPath(id), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], bytes: 0 };
      throw err;
    }
    const records: JournalRecord[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        records.push(JSON.parse(line) as JournalRecord);
      } catch {
        // A torn last line from a crash mid-append: that change was never acknowledged.
      }
    }
    return { records, bytes: Buffer.byteLength(text) };
  }

  async journalSize(id: string): Promise<number> {
    try {
      return (await stat(this.logPath(id))).size;
    } catch {
      return 0;
    }
  }

  /** Appends records and fsyncs them before returning (the relay's 250 is recorded at once). */
  async append(id: string, ...records: JournalRecord[]): Promise<void> {
    const path = this.logPath(id);
    let created = false;
    let fh: FileHandle;
    try {
      fh = await open(path, 'a', 0o600);
      created = (await fh.stat()).size === 0;
    } catch (err) {
      throw err;
    }
    try {
      await fh.write(records.map((r) => `${JSON.stringify(r)}\n`).join(''));
      await fh.datasync();
    } finally {
      await fh.close();
    }
    if (created) await this.syncDir();
  }

  async load(id: string): Promise<QueueItem> {
    const env = await this.readEnvelope(id);
    const { records, bytes } = await this.readJournal(id);
    return { ...replay(env, records), journalBytes: bytes };
  }

  /**
   * Every message now queued, for the admin views (CLI and HTTP): none when the queue
   * directory does not exist yet, and one delivered and removed meanwhile is skipped.
   */
  async loadAll(): Promise<QueueItem[]> {
    let ids: string[];
    try {
      ids = await this.list();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: QueueItem[] = [];
    for (const id of ids) {
      try {
        out.push(await this.load(id));
      } catch {
        // delivered and removed while we listed
      }
    }
    return out;
  }

  /** `journal: false`: the caller knows there is none. `sync`: the removal itself is the record that the message is done, so make it durable. */
  async remove(id: string, opts: { sync?: boolean; journal?: boolean } = {}): Promise<void> {
    this.dropBody(id);
    await Promise.all([unlinkIfThere(this.msgPath(id)), opts.journal === false ? null : unlinkIfThere(this.logPath(id))]);
    if (opts.sync) await this.syncDir();
  }

  /** Bytes held by committed and incoming messages (for the spool quota). */
  async usage(): Promise<number> {
    let total = 0;
    for (const n of await readdir(this.dir)) {
      try {
        total += (await stat(join(this.dir, n))).size;
      } catch {
        // removed meanwhile
      }
    }
    return total;
  }
}

/** Rebuilds per-recipient state from the envelope and the journal. */
export function replay(env: QueueEnvelope, records: JournalRecord[]): Omit<QueueItem, 'journalBytes'> {
  const rcpts = new Map<string, RecipientState>(
    env.recipients.map((r) => [r.address, { address: r.address, status: 'queued', attempts: 0, next: 0 }]),
  );
  let warned = false;
  let bounced = false;
  for (const r of records) {
    if (r.t === 'rcpt') {
      const s = rcpts.get(r.rcpt);
      if (!s || s.status === 'delivered' || s.status === 'failed') continue;
      s.status = r.status;
      s.attempts++;
      if (r.reply !== undefined) s.lastReply = r.reply;
      s.next = r.next ?? 0;
    } else if (r.t === 'retry') {
      for (const s of rcpts.values()) if (s.status === 'deferred' || s.status === 'queued') s.next = 0;
    } else if (r.t === 'warned') warned = true;
    else if (r.t === 'bounced') bounced = true;
  }
  return { env, rcpts: [...rcpts.values()], warned, bounced };
}

/**
 * Bytes are collected in memory up to this much before they go to the file: a typical
 * message then costs one write (with its trailer) instead of one per DATA chunk, and every
 * write is a trip through libuv's thread pool. Larger messages stream on in pieces this size.
 */
const WRITE_BUFFER = 128 * 1024;

export class QueueWriter {
  private written = 0;
  private done = false;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Nothing reached the file before commit: the whole body is still in `pending`. */
  private everFlushed = false;
  constructor(
    private readonly store: QueueStore,
    readonly id: string,
    private readonly path: string,
    private readonly opening: Promise<FileHandle>,
    private readonly entryDurable: Promise<void>,
  ) {
    opening.catch(() => {});
  }

  /** Bytes accepted so far (written or waiting in the buffer). */
  get size(): number {
    return this.written;
  }

  async write(chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.written += chunk.length;
    if (this.pendingBytes >= WRITE_BUFFER) await this.flush();
  }

  /** Puts the buffered bytes into the file (not fsynced): for readers of the uncommitted file (the virus scan). */
  async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const bufs = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    this.everFlushed = true;
    await writeAll(await this.opening, bufs);
  }

  /**
   * Appends the envelope trailer (the commit marker) and fsyncs the file. Its directory
   * entry was created at open and a directory fsync started then (group-committed); commit
   * waits for that too, so when it returns the file, its envelope and its name are durable.
   */
  async commit(env: Omit<QueueEnvelope, 'id' | 'size'>): Promise<QueueEnvelope> {
    const full: QueueEnvelope = { ...env, id: this.id, size: this.written };
    const json = Buffer.from(JSON.stringify(full), 'utf8');
    // Layout: bytes | "\n" JSON | "\n" 16 hex digits. readEnvelope() reads it backwards.
    const trailer = Buffer.concat([Buffer.from('\n', 'latin1'), json, Buffer.from(`\n${json.length.toString(16).padStart(16, '0')}`, 'latin1')]);
    const whole = this.everFlushed ? null : this.pending;
    const bufs = [...this.pending, trailer];
    this.pending = [];
    this.pendingBytes = 0;
    const fh = await this.opening;
    await writeAll(fh, bufs);
    await fh.sync();
    this.done = true;
    // Closing needs no wait (nor can its error matter): the data is on disk.
    fh.close().catch(() => {});
    await this.entryDurable;
    if (whole) this.store.keepBody(this.id, whole, this.written);
    this.store.writing.delete(this.id);
    return full;
  }

  async abort(): Promise<void> {
    this.pending = [];
    if (!this.done) {
      this.done = true;
      await this.opening.then((fh) => fh.close()).catch(() => {});
    }
    // Removed before it leaves `writing`, so a scan never sees it as a finished entry.
    await rm(this.path, { force: true });
    this.store.writing.delete(this.id);
  }
}

/** Writes every buffer at the file's current end, one writev while the kernel takes it all. */
async function writeAll(fh: FileHandle, bufs: Buffer[]): Promise<void> {
  let rest = bufs.filter((b) => b.length > 0);
  while (rest.length > 0) {
    let { bytesWritten } = await fh.writev(rest);
    // A short write (rare for regular files): carry on after what went out.
    const next: Buffer[] = [];
    for (const b of rest) {
      if (bytesWritten >= b.length) bytesWritten -= b.length;
      else {
        next.push(bytesWritten > 0 ? b.subarray(bytesWritten) : b);
        bytesWritten = 0;
      }
    }
    rest = next;
  }
}

async function unlinkIfThere(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
