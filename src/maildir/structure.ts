// store.messageStructure(): a message's scanned MIME structure, from the parsed-message
// cache (message-cache.ts) when the entry matches the file, parsed from the file otherwise.
//
// The warm path does no I/O and no await on a promise that waits for I/O: the file's
// location comes from the last sync, its size and mtime from the listing's stat (meta), and
// the structure from the memory layer. A FETCH or SEARCH over 10,000 messages then costs
// CPU only. Anything uncertain (no listing yet, meta dropped after an outside change) takes
// the slow path, which fstat()s the open file, so a replaced file is never served stale.
import { open, type FileHandle } from 'node:fs/promises';
import { scanStream } from '../mime/load.js';
import type { MimePart } from '../mime/types.js';
import { isErrno } from './fsutil.js';
import type { MailboxRef, MessageFile } from './mailbox-state.js';
import type { CacheKey, MessageCache } from './message-cache.js';
import { filePath, type Ctx } from './messages.js';
import { StoreError } from './types.js';

/** The cache key of `uid`'s file as last listed (location from the sync, size and mtime from the stat). */
function listedKey(ctx: Ctx, ref: MailboxRef, uid: number): CacheKey | undefined {
  const f = ctx.states.cachedFile(ref.dir, uid);
  if (!f) return undefined;
  const m = ctx.states.metaFor(ref.dir).get(f.parsed.baseName);
  if (m?.size === undefined || m.mtime === undefined) return undefined;
  return { baseName: f.parsed.baseName, size: m.size, mtime: m.mtime };
}

/** The memory layer's structure of `uid`, or undefined (then messageStructure()). Never awaits. */
export function peekStructure(ctx: Ctx, cache: MessageCache, ref: MailboxRef, uid: number): MimePart | undefined {
  const key = listedKey(ctx, ref, uid);
  return key && cache.peek(ref.dir, key);
}

export async function messageStructure(ctx: Ctx, cache: MessageCache, ref: MailboxRef, uid: number, mustExist: () => Promise<unknown>): Promise<MimePart> {
  const key0 = listedKey(ctx, ref, uid);
  if (key0) {
    const hit = cache.peek(ref.dir, key0) ?? (await cache.get(ref.dir, key0));
    if (hit) return hit;
  }
  await mustExist();
  const { fh, file } = await openMessageFile(ctx, ref, uid);
  try {
    const st = await fh.stat();
    const key: CacheKey = { baseName: file.parsed.baseName, size: st.size, mtime: st.mtimeMs };
    // What the file says now is what listings report from here on (INTERNALDATE, size).
    const meta = ctx.states.metaFor(ref.dir);
    const m = meta.get(key.baseName);
    if (m) {
      if (m.size !== undefined && m.size !== st.size) delete m.vsize;
      m.size = st.size;
      m.mtime = st.mtimeMs;
    } else {
      meta.set(key.baseName, { size: st.size, mtime: st.mtimeMs });
    }
    const hit = await cache.get(ref.dir, key);
    if (hit) return hit;
    const part = await scanStream(fh.createReadStream({ autoClose: false, start: 0 }));
    cache.put(ref.dir, key, part);
    return part;
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** Opens the file of `uid` where the last sync saw it, syncing again when it moved (flags). */
async function openMessageFile(ctx: Ctx, ref: MailboxRef, uid: number): Promise<{ fh: FileHandle; file: MessageFile }> {
  let f = ctx.states.cachedFile(ref.dir, uid);
  for (let attempt = 0; attempt < 4; attempt++) {
    if (!f || attempt > 0) f = await ctx.mutex.run(ref.dir, async () => (await ctx.states.sync(ref)).files.find((x) => x.uid === uid));
    if (!f) break;
    try {
      return { fh: await open(filePath(ref, f), 'r'), file: f };
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err; // renamed (flags) or expunged since: look again
    }
  }
  throw new StoreError('no-message', `no message with UID ${uid}`);
}

/**
 * Parses freshly delivered messages in the background, one at a time, so the first FETCH
 * of a message list after a burst of mail finds them cached. Nothing waits for it: the
 * delivery was acknowledged before, and the queue is bounded (past it a message is simply
 * parsed when first fetched). A message that left new/ meanwhile is skipped the same way.
 */
export class DeliveryWarmer {
  private readonly queue: Array<{ ref: MailboxRef; baseName: string }> = [];
  private running = false;

  constructor(
    private readonly cache: MessageCache,
    private readonly max = 10_000,
  ) {}

  add(ref: MailboxRef, baseName: string): void {
    if (this.queue.length >= this.max) return;
    this.queue.push({ ref, baseName });
    if (!this.running) {
      this.running = true;
      setImmediate(() => void this.drain());
    }
  }

  private async drain(): Promise<void> {
    try {
      for (let job = this.queue.shift(); job; job = this.queue.shift()) {
        let fh: FileHandle;
        try {
          fh = await open(filePath(job.ref, { sub: 'new', parsed: { fileName: job.baseName } as MessageFile['parsed'] }), 'r');
        } catch {
          continue; // moved to cur/ or expunged: parsed on first use instead
        }
        try {
          const st = await fh.stat();
          const key: CacheKey = { baseName: job.baseName, size: st.size, mtime: st.mtimeMs };
          if (this.cache.peek(job.ref.dir, key)) continue;
          this.cache.put(job.ref.dir, key, await scanStream(fh.createReadStream({ autoClose: false, start: 0 })));
        } catch {
          // unreadable now: parsed on first use
        } finally {
          await fh.close().catch(() => undefined);
        }
        // Let deliveries and sessions go first between messages.
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.running = false;
    }
  }
}
