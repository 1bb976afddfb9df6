// Message-level operations on one Maildir: deliver, flags, expunge, copy, open.
// Each runs under the mailbox's in-process mutex; UID assignment also under the
// uidlist dotlock, taken before the rename into new/ (as Dovecot's save does) so no
// other process can number the file before we do.
import fs, { createReadStream } from 'node:fs';
import { copyFile, link, open, readdir, rename, stat, unlink, utimes } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { fsyncDir, isErrno } from './fsutil.js';
import { buildBaseName, buildFileName, flagsToInfo, infoToFlags, parseFileName, sortFlags } from './filename.js';
import { keywordForLetter, letterForKeyword, validateKeyword, type KeywordTable } from './keywords.js';
import type { KeyedMutex } from './lock.js';
import type { MailboxRef, MailboxStates, MessageFile } from './mailbox-state.js';
import type { Modseqs } from './modseq.js';
import { LfNormalizer } from './normalize.js';
import type { OwnWrites } from './own-writes.js';
import { addQuota } from './quota.js';
import { nextUid } from './uidlist.js';
import type { UniqueNames } from './unique.js';
import { StoreError, type DeliverOptions, type MessageInfo, type MessageSource, type SystemFlag } from './types.js';

export interface Ctx {
  states: MailboxStates;
  mutex: KeyedMutex;
  names: UniqueNames;
  own: OwnWrites;
  logger: Logger;
  modseqs: Modseqs;
}

export function filePath(ref: MailboxRef, f: Pick<MessageFile, 'sub' | 'parsed'>): string {
  return path.join(ref.dir, f.sub, f.parsed.fileName);
}

function uniqKeywords(keywords: string[] | undefined): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const k of keywords ?? []) {
    validateKeyword(k);
    if (!seen.has(k.toLowerCase())) {
      seen.add(k.toLowerCase());
      out.push(k);
    }
  }
  return out;
}

function lettersFor(table: KeywordTable, keywords: string[]): string[] {
  return keywords.map((k) => letterForKeyword(table, k)).filter((l): l is string => l !== undefined);
}

/** Streams the source into tmp/, normalising line ends; returns the tmp path and sizes. */
async function writeTmp(ctx: Ctx, ref: MailboxRef, source: MessageSource, unique: string, date?: Date) {
  const tmp = path.join(ref.dir, 'tmp', unique);
  const fh = await open(tmp, 'wx', 0o600);
  const norm = new LfNormalizer();
  try {
    for await (const chunk of source.open()) {
      const out = norm.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
      if (out.length > 0) await fh.write(out);
    }
    const tail = norm.end();
    if (tail.length > 0) await fh.write(tail);
    await fh.sync();
    await fh.close();
    // Dovecot's INTERNALDATE for Maildir is the file's mtime.
    if (date) await utimes(tmp, date, date);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  return { tmp, size: norm.size, vsize: norm.vsize };
}

export async function deliver(ctx: Ctx, ref: MailboxRef, source: MessageSource, opts: DeliverOptions = {}) {
  const keywords = uniqKeywords(opts.keywords);
  const flags = sortFlags(opts.flags ?? []);
  const unique = ctx.names.next();
  const { tmp, size, vsize } = await writeTmp(ctx, ref, source, unique, opts.internalDate);
  const baseName = buildBaseName(unique, size, vsize);
  try {
    return await ctx.mutex.run(ref.dir, async () => {
      const table = keywords.length > 0 ? await ctx.states.ensureKeywords(ref.dir, keywords) : [];
      // A message with flags goes straight to cur/, as Dovecot's save does; otherwise new/.
      const hasInfo = flags.length > 0 || keywords.length > 0;
      const sub = hasInfo ? 'cur' : 'new';
      const fileName = buildFileName(baseName, hasInfo ? flagsToInfo(flags, lettersFor(table, keywords)) : null);
      const dest = path.join(ref.dir, sub, fileName);
      return ctx.states.withUidlist(ref, async (list) => {
        ctx.own.note(dest);
        await rename(tmp, dest);
        try {
          await fsyncDir(path.join(ref.dir, sub));
          const uid = nextUid(list);
          await ctx.states.appendRecords(ref, list, [{ uid, baseName, ext: [] }]);
          return { uid, uidValidity: list.uidValidity, baseName, size, vsize };
        } catch (err) {
          // Never leave a message in new/ or cur/ that the caller was told failed.
          await unlink(dest).catch(() => undefined);
          throw err;
        }
      });
    });
  } catch (err) {
    await unlink(tmp).catch(() => undefined); // still in tmp/ when the rename did not happen
    throw err;
  }
}

/**
 * toMessageInfo without I/O when the file's stat and virtual size are known already (every
 * listing after the first): undefined otherwise. A listing of 10,000 messages whose names all
 * changed (STORE +FLAGS 1:*) then costs no await per message.
 */
export function toMessageInfoSync(ctx: Ctx, ref: MailboxRef, f: MessageFile, table: KeywordTable, modseq = 0): MessageInfo | undefined {
  const m = ctx.states.metaFor(ref.dir).get(f.parsed.baseName);
  if (!m || m.mtime === undefined || (f.parsed.size === undefined && m.size === undefined)) return undefined;
  const size = f.parsed.size ?? m.size ?? 0;
  const vsize = f.parsed.vsize ?? m.vsize;
  if (vsize === undefined) return undefined;
  return messageInfo(f, table, modseq, size, vsize, m.mtime);
}

function messageInfo(f: MessageFile, table: KeywordTable, modseq: number, size: number, vsize: number, mtime: number): MessageInfo {
  const info = infoToFlags(f.parsed.info);
  return {
    uid: f.uid,
    baseName: f.parsed.baseName,
    flags: sortFlags(info.flags),
    keywords: info.keywordLetters.length === 0 ? [] : info.keywordLetters.map((l) => keywordForLetter(table, l)).filter((k): k is string => k !== undefined),
    size,
    vsize,
    internalDate: new Date(mtime),
    isNew: f.sub === 'new',
    modseq,
  };
}

export async function toMessageInfo(ctx: Ctx, ref: MailboxRef, f: MessageFile, table: KeywordTable, modseq = 0): Promise<MessageInfo> {
  const meta = ctx.states.metaFor(ref.dir);
  let m = meta.get(f.parsed.baseName);
  if (!m) {
    m = {};
    meta.set(f.parsed.baseName, m);
  }
  if (m.mtime === undefined || (f.parsed.size === undefined && m.size === undefined)) {
    try {
      const st = await stat(filePath(ref, f));
      m.mtime = st.mtimeMs;
      m.size = st.size;
    } catch {
      m.mtime = (f.parsed.secs ?? 0) * 1000; // renamed meanwhile; the name's time is close enough
    }
  }
  const size = f.parsed.size ?? m.size ?? 0;
  let vsize = f.parsed.vsize ?? m.vsize;
  if (vsize === undefined) {
    vsize = await computeVsize(filePath(ref, f)).catch(() => size);
    m.vsize = vsize;
  }
  return messageInfo(f, table, modseq, size, vsize, m.mtime);
}

async function computeVsize(file: string): Promise<number> {
  const norm = new LfNormalizer();
  for await (const chunk of createReadStream(file)) norm.push(chunk as Buffer);
  norm.end();
  return norm.vsize;
}

type FlagOp = 'set' | 'add' | 'remove';

/** Flag renames in flight at once (the daemon's thread pool has 16 threads). */
const RENAME_BATCH = 32;

/** New info letters for one message; keyword letters without a name in the table are kept. */
function applyFlags(info: string | null, table: KeywordTable, op: FlagOp, flags: SystemFlag[], letters: string[]): string {
  const cur = infoToFlags(info);
  const f = new Set<SystemFlag>(op === 'set' ? [] : cur.flags);
  const k = new Set<string>(op === 'set' ? cur.keywordLetters.filter((l) => keywordForLetter(table, l) === undefined) : cur.keywordLetters);
  for (const x of flags) (op === 'remove' ? f.delete(x) : f.add(x));
  for (const x of letters) (op === 'remove' ? k.delete(x) : k.add(x));
  return flagsToInfo(f, k, cur.other);
}

export interface SetFlagsOutcome {
  changed: MessageInfo[];
  modified: number[];
  /** The listing before and after, for the store to bring its last answer up to date. */
  listing?: { filesBefore: readonly MessageFile[]; highestBefore: number; filesAfter: readonly MessageFile[]; highestAfter: number };
}

export async function setFlags(
  ctx: Ctx,
  ref: MailboxRef,
  uids: number[],
  op: FlagOp,
  flags: SystemFlag[],
  keywordsIn: string[] = [],
  unchangedSince?: number,
): Promise<SetFlagsOutcome> {
  const keywords = uniqKeywords(keywordsIn);
  return ctx.mutex.run(ref.dir, async () => {
    const table = op === 'remove' ? await ctx.states.readKeywords(ref.dir) : await ctx.states.ensureKeywords(ref.dir, keywords);
    const letters = lettersFor(table, keywords);
    const wanted = new Set(uids);
    const changed: MessageInfo[] = [];
    const synced = await ctx.states.sync(ref);
    let { files } = synced;
    const uidValidity = synced.list.uidValidity;
    const uidNext = nextUid(synced.list);
    // Changes made by other programs get their modseq first, so UNCHANGEDSINCE sees them
    // (RFC 7162 3.1.3); messages modified since are left alone and reported.
    const before = await ctx.modseqs.sync(ref, uidValidity, uidNext, files);
    const modified: number[] = [];
    const infoOf = new Map<number, string>();
    const renamed: MessageFile[] = [];
    if (unchangedSince !== undefined) {
      for (const f of files) {
        if (wanted.has(f.uid) && before.of(f.uid) > unchangedSince) {
          wanted.delete(f.uid);
          modified.push(f.uid);
        }
      }
    }
    let attempts = 0;
    for (let attempt = 0; attempt < 3 && wanted.size > 0; attempt++) {
      attempts++;
      const todo = files.filter((f) => wanted.has(f.uid));
      // Renames go to the thread pool RENAME_BATCH at a time: one by one, STORE +FLAGS 1:* on
      // 10,000 messages waits for 10,000 round trips through it.
      for (let i = 0; i < todo.length; i += RENAME_BATCH) {
        const batch = await Promise.all(
          todo.slice(i, i + RENAME_BATCH).map(async (f): Promise<MessageFile | null> => {
            const info = applyFlags(f.parsed.info, table, op, flags, letters);
            const target: MessageFile = { ...f, sub: 'cur', parsed: parseFileName(buildFileName(f.parsed.baseName, info)) };
            const from = filePath(ref, f);
            const to = filePath(ref, target);
            if (from === to) return target;
            try {
              ctx.own.note(from, to);
              await rename(from, to);
              renamed.push(target);
              return target;
            } catch (err) {
              if (isErrno(err, 'ENOENT')) return null; // renamed by someone else: retry after a re-sync
              throw err;
            }
          }),
        );
        for (const target of batch) {
          if (!target) continue;
          wanted.delete(target.uid);
          infoOf.set(target.uid, target.parsed.info ?? '');
          changed.push(await toMessageInfo(ctx, ref, target, table));
        }
      }
      if (wanted.size > 0) files = (await ctx.states.sync(ref)).files.filter((f) => wanted.has(f.uid));
    }
    const filesAfter = ctx.states.noteRenamed(ref.dir, renamed);
    const infos = changed.map((m) => ({ uid: m.uid, info: infoOf.get(m.uid) ?? '' }));
    const stamped = await ctx.modseqs.stampFlags(ref, uidValidity, uidNext, infos);
    let highest = before.highest;
    for (const m of changed) {
      m.modseq = stamped.get(m.uid) ?? before.highest;
      if (m.modseq > highest) highest = m.modseq;
    }
    return {
      changed: changed.sort((a, b) => a.uid - b.uid),
      modified: modified.sort((a, b) => a - b),
      // Only when one pass renamed everything from the listing it started with.
      listing: filesAfter && attempts === 1 ? { filesBefore: synced.files, highestBefore: before.highest, filesAfter, highestAfter: highest } : undefined,
    };
  });
}

export async function expunge(ctx: Ctx, ref: MailboxRef, uids: number[]) {
  return ctx.mutex.run(ref.dir, async () => {
    const wanted = new Set(uids);
    const done: number[] = [];
    let bytes = 0;
    let { files } = await ctx.states.sync(ref);
    for (let attempt = 0; attempt < 3 && wanted.size > 0; attempt++) {
      for (const f of files) {
        if (!wanted.has(f.uid)) continue;
        const p = filePath(ref, f);
        try {
          ctx.own.note(p);
          await unlink(p);
        } catch (err) {
          if (isErrno(err, 'ENOENT')) continue;
          throw err;
        }
        wanted.delete(f.uid);
        done.push(f.uid);
        bytes += f.parsed.size ?? ctx.states.metaFor(ref.dir).get(f.parsed.baseName)?.size ?? 0;
      }
      if (wanted.size > 0) files = (await ctx.states.sync(ref)).files.filter((f) => wanted.has(f.uid));
      if (files.length === 0) break;
    }
    if (done.length > 0) await addQuota(ref.home, -bytes, -done.length);
    return done.sort((a, b) => a - b);
  });
}

/** Hard-links (or copies) messages into the target with new names and UIDs; returns source → target UID. */
export async function copy(ctx: Ctx, from: MailboxRef, uids: number[], to: MailboxRef): Promise<Map<number, number>> {
  const { sources, srcTable } = await ctx.mutex.run(from.dir, async () => {
    const wanted = new Set(uids);
    const files = (await ctx.states.sync(from)).files.filter((f) => wanted.has(f.uid));
    return { sources: files, srcTable: await ctx.states.readKeywords(from.dir) };
  });
  if (sources.length === 0) return new Map();
  const names = new Set<string>();
  for (const f of sources) {
    for (const l of infoToFlags(f.parsed.info).keywordLetters) {
      const k = keywordForLetter(srcTable, l);
      if (k) names.add(k);
    }
  }
  const map = new Map<number, number>();
  await ctx.mutex.run(to.dir, async () => {
    const dstTable = await ctx.states.ensureKeywords(to.dir, [...names]);
    await ctx.states.withUidlist(to, async (list) => {
      let uid = nextUid(list);
      const added = [];
      let bytes = 0;
      const subs = new Set<string>();
      for (const f of sources) {
        const info = infoToFlags(f.parsed.info);
        const letters = info.keywordLetters
          .map((l) => keywordForLetter(srcTable, l))
          .map((k) => (k ? letterForKeyword(dstTable, k) : undefined))
          .filter((l): l is string => l !== undefined);
        const size = f.parsed.size ?? (await stat(filePath(from, f)).catch(() => null))?.size;
        if (size === undefined) continue;
        const vsize = f.parsed.vsize ?? (await computeVsize(filePath(from, f)).catch(() => size));
        const baseName = buildBaseName(ctx.names.next(), size, vsize);
        const fileName = buildFileName(baseName, f.sub === 'new' ? null : flagsToInfo(info.flags, letters, info.other));
        const dest = path.join(to.dir, f.sub, fileName);
        ctx.own.note(dest);
        if (!(await linkOrCopy(from, f, dest))) continue; // expunged meanwhile
        subs.add(path.join(to.dir, f.sub));
        map.set(f.uid, uid);
        added.push({ uid: uid++, baseName, ext: [] });
        bytes += size;
      }
      for (const d of subs) await fsyncDir(d);
      await ctx.states.appendRecords(to, list, added);
      if (added.length > 0) await addQuota(to.home, bytes, added.length);
    });
  });
  return map;
}

async function linkOrCopy(from: MailboxRef, f: MessageFile, dest: string): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    let src = filePath(from, f);
    if (attempt > 0) {
      const found = await findByBase(from.dir, f.parsed.baseName);
      if (!found) return false;
      src = found;
    }
    try {
      await link(src, dest);
      return true;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) continue;
      if (!isErrno(err, 'EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP')) throw err;
    }
    try {
      await copyFile(src, dest, 1 /* COPYFILE_EXCL */);
      const st = await stat(src);
      await utimes(dest, st.atime, st.mtime); // keep INTERNALDATE (the mtime)
      return true;
    } catch (err) {
      await unlink(dest).catch(() => undefined);
      if (!isErrno(err, 'ENOENT')) throw err;
    }
  }
  return false;
}

/** Read-only lookup of a message's current file by base name (no uidlist lock needed). */
async function findByBase(dir: string, baseName: string): Promise<string | null> {
  for (const sub of ['new', 'cur']) {
    const names = await readdir(path.join(dir, sub)).catch(() => [] as string[]);
    const hit = names.find((n) => n === baseName || n.startsWith(baseName + ':'));
    if (hit) return path.join(dir, sub, hit);
  }
  return null;
}

/**
 * The whole stored file in one read when the last listing knows it and it is at most
 * `limit` bytes; null sends the caller to openMessage() (unknown, bigger, renamed or gone
 * since the listing). A stream costs a handful of thread-pool round trips and buffers per
 * message, which dominate SEARCH TEXT over thousands of small messages; open, one read and
 * close do not. No mailbox check of its own: a deleted mailbox fails the open, and
 * openMessage() then says why.
 */
export function readSmallMessage(ctx: Ctx, ref: MailboxRef, uid: number, limit: number): Promise<Buffer | null> {
  const f = ctx.states.cachedFile(ref.dir, uid);
  if (!f) return Promise.resolve(null);
  const size = f.parsed.size ?? ctx.states.metaFor(ref.dir).get(f.parsed.baseName)?.size;
  if (size === undefined || size > limit) return Promise.resolve(null);
  // The callback API: fs/promises' FileHandle costs a promise and an object per step, which
  // showed as a third of the CPU of SEARCH TEXT over 10,000 small messages.
  return new Promise<Buffer | null>((resolve, reject) => {
    fs.open(filePath(ref, f), 'r', (err, fd) => {
      if (err) return err.code === 'ENOENT' ? resolve(null) : reject(err);
      // One byte more than expected tells a file that grew (S= wrong, or rewritten) from one that did not.
      const buf = Buffer.allocUnsafe(size + 1);
      fs.read(fd, buf, 0, size + 1, 0, (rerr, bytesRead) => {
        fs.close(fd, () => undefined);
        if (rerr) reject(rerr);
        else resolve(bytesRead > size ? null : buf.subarray(0, bytesRead));
      });
    });
  });
}

export async function openMessage(ctx: Ctx, ref: MailboxRef, uid: number): Promise<Readable> {
  const cached = ctx.states.cachedFile(ref.dir, uid);
  if (cached) {
    try {
      return (await open(filePath(ref, cached), 'r')).createReadStream();
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err; // renamed or expunged since: sync below
    }
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    const f = await ctx.mutex.run(ref.dir, async () => (await ctx.states.sync(ref)).files.find((x) => x.uid === uid));
    if (!f) break;
    try {
      const fh = await open(filePath(ref, f), 'r');
      return fh.createReadStream();
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err; // flags changed meanwhile: look again
    }
  }
  throw new StoreError('no-message', `no message with UID ${uid}`);
}
