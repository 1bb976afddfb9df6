// The Dovecot-compatible Maildir store (mail_location = maildir:<root>/%d/%n).
//
// Concurrency rules:
// - one in-process mutex per mailbox directory serialises sync and mutations;
// - dovecot-uidlist, dovecot-keywords and subscriptions are changed only under
//   Dovecot's dotlock (`<file>.lock`), taken inside the mutex, never the other way round;
// - message bytes are streamed into tmp/ before any lock is taken;
// - nothing here waits on a socket.
import { EventEmitter } from 'node:events';
import { mkdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { MimePart } from '../mime/types.js';
import {
  createFolder,
  DEFAULT_FOLDERS,
  deleteFolder,
  isMaildir,
  listFolderDirs,
  makeMaildir,
  readSubscriptions,
  renameFolder,
  specialUseOf,
  updateSubscriptions,
} from './folders.js';
import { isErrno } from './fsutil.js';
import { readSpecialUse, renameSpecialUse, updateSpecialUse } from './special-use.js';
import { KeyedMutex } from './lock.js';
import { MailboxStates, type MailboxRef } from './mailbox-state.js';
import { MessageCache } from './message-cache.js';
import { Modseqs } from './modseq.js';
import * as msg from './messages.js';
import { OwnWrites } from './own-writes.js';
import { mailboxDir, parseMailboxName, userDir } from './paths.js';
import { readQuota, addQuota } from './quota.js';
import { DeliveryWarmer, messageStructure, peekStructure } from './structure.js';
import { eachLimited } from './limit.js';
import { nextUid } from './uidlist.js';
import { UniqueNames } from './unique.js';
import { UserWatcher } from './watch.js';
import {
  StoreError,
  type DeliverOptions,
  type DeliverResult,
  type MailboxInfo,
  type MailStore,
  type MailUser,
  type MessageInfo,
  type MessageListing,
  type MessageSource,
  type SetFlagsOptions,
  type SetFlagsResult,
  type QuotaUsage,
  type SpecialUse,
  type StoreChange,
  type SystemFlag,
} from './types.js';

/** Mailboxes whose last listing is kept (a few MB for 10,000-message mailboxes). */
const MAX_LISTINGS = 64;

export interface MaildirStoreOptions {
  root: string;
  hostname: string;
  logger: Logger;
  /** The on-disk Maildir++ separator; only '.' is supported. */
  hierarchySeparator?: '.';
  /** Memory bound of the parsed-message cache's in-memory layer (bytes, estimated). */
  messageCacheBytes?: number;
}

/** A watch stop function that also tells when every mailbox is being watched. */
export type WatchStop = (() => void) & { ready: Promise<void> };

/** MailStore whose watch() also exposes when the watchers are in place. */
export interface MaildirStore extends MailStore {
  watch(user: MailUser): WatchStop;
}

export function createMaildirStore(opts: MaildirStoreOptions): MaildirStore {
  if (opts.hierarchySeparator !== undefined && opts.hierarchySeparator !== '.') {
    throw new Error('only the Maildir++ separator "." is supported');
  }
  const root = path.resolve(opts.root);
  const logger = opts.logger.child({ svc: 'maildir' });
  const bus = new EventEmitter();
  bus.setMaxListeners(0);
  const states = new MailboxStates(logger);
  const ctx: msg.Ctx = {
    states,
    mutex: new KeyedMutex(),
    names: new UniqueNames(opts.hostname || os.hostname()),
    own: new OwnWrites(),
    logger,
    modseqs: new Modseqs(logger),
  };
  const watchers = new Set<UserWatcher>();
  const cache = new MessageCache({ logger, ...(opts.messageCacheBytes !== undefined ? { maxBytes: opts.messageCacheBytes } : {}) });
  const warmer = new DeliveryWarmer(cache);
  const folderLocks = new KeyedMutex();

  const emit = (change: StoreChange): void => {
    try {
      bus.emit('change', change);
    } catch (err) {
      logger.error({ err }, 'change listener failed');
    }
  };

  // Validated paths, memoised: FETCH and SEARCH ask for one per message, and the checks
  // (name syntax, modified UTF-7, escaping the root) are pure functions of the inputs.
  const refs = new Map<string, MailboxRef>();
  /** The last listMessages answer per mailbox directory (see listMessages). */
  const listings = new Map<string, { files: readonly unknown[]; table: readonly unknown[]; highestModseq: number; messages: MessageInfo[] }>();
  // The last mailbox asked for: FETCH and SEARCH ask for the same one per message, and the
  // key string below costs a concatenation and a hash each time.
  let lastRef: { domain: string; localPart: string; name: string; r: MailboxRef } | null = null;

  function ref(user: MailUser, name: string): MailboxRef {
    const l = lastRef;
    if (l && l.name === name && l.localPart === user.localPart && l.domain === user.domain) return l.r;
    const r = refUncached(user, name);
    lastRef = { domain: user.domain, localPart: user.localPart, name, r };
    return r;
  }

  function refUncached(user: MailUser, name: string): MailboxRef {
    const key = `${user.domain}\0${user.localPart}\0${name}`;
    const hit = refs.get(key);
    if (hit) return hit;
    const mb = parseMailboxName(name);
    const r = { home: userDir(root, user), dir: mailboxDir(root, user, mb), name: mb.name };
    if (refs.size >= 10_000) refs.clear();
    refs.set(key, r);
    return r;
  }

  async function existing(user: MailUser, name: string): Promise<MailboxRef> {
    const r = ref(user, name);
    if (!(await isMaildir(r.dir))) throw new StoreError('no-mailbox', `no mailbox ${r.name}`);
    return r;
  }

  /** Folder-level changes of one user are serialised (create/rename/delete/subscribe). */
  function forUser<T>(user: MailUser, fn: () => Promise<T>): Promise<T> {
    return folderLocks.run(userDir(root, user), fn);
  }

  async function ensureUser(user: MailUser): Promise<void> {
    const home = userDir(root, user);
    if (await isMaildir(home)) return;
    await forUser(user, async () => {
      if (await isMaildir(home)) return;
      await mkdir(home, { recursive: true, mode: 0o700 });
      await makeMaildir(home, false);
      await states.sync(ref(user, 'INBOX')); // writes dovecot-uidlist with a UIDVALIDITY
      for (const [name] of DEFAULT_FOLDERS) {
        try {
          const r = ref(user, name);
          await createFolder(home, parseMailboxName(name));
          await states.sync(r);
        } catch (err) {
          if (!(err instanceof StoreError && err.code === 'exists')) throw err;
        }
      }
      await updateSubscriptions(home, (names) => [...new Set([...names, 'INBOX', ...DEFAULT_FOLDERS.map(([n]) => n)])]);
      logger.info({ domain: user.domain, user: user.localPart }, 'created maildir');
    });
  }

  async function info(user: MailUser, name: string, subscribed: Set<string>, uses?: Map<string, SpecialUse>): Promise<MailboxInfo | null> {
    const r = ref(user, name);
    try {
      const { list } = await ctx.mutex.run(r.dir, () => states.sync(r));
      const out: MailboxInfo = { name: r.name, uidValidity: list.uidValidity, uidNext: nextUid(list), subscribed: subscribed.has(r.name) };
      const special = uses?.get(r.name) ?? specialUseOf(r.name);
      if (special) out.specialUse = special;
      return out;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return null; // deleted while listing
      throw err;
    }
  }

  /** Own appends get their modseq at once (their info part is adopted at the next sync). */
  function stampAppend(r: MailboxRef, uids: number[]): Promise<number> {
    return ctx.mutex.run(r.dir, async () => {
      const list = await uidlistOf(r);
      return ctx.modseqs.stampAppend(r, list.uidValidity, nextUid(list), uids);
    });
  }

  /** The folder's uidlist (UIDVALIDITY, next UID) without a directory scan; under the mutex. */
  async function uidlistOf(r: MailboxRef) {
    return (await states.readUidlist(r.dir))?.list ?? (await states.sync(r)).list;
  }

  const store = {
    ensureUser,

    async listMailboxes(user: MailUser): Promise<MailboxInfo[]> {
      const home = userDir(root, user);
      if (!(await isMaildir(home))) return [];
      const subscribed = new Set(await readSubscriptions(home));
      const uses = await readSpecialUse(home);
      const names = ['INBOX', ...(await listFolderDirs(home)).map((f) => f.name)];
      const out: MailboxInfo[] = [];
      for (const n of names) {
        const i = await info(user, n, subscribed, uses);
        if (i) out.push(i);
      }
      return out;
    },

    async createMailbox(user: MailUser, name: string, o?: { specialUse?: SpecialUse }): Promise<void> {
      const r = ref(user, name);
      const home = r.home;
      if (!(await isMaildir(home))) await ensureUser(user);
      await forUser(user, async () => {
        await createFolder(home, parseMailboxName(r.name));
        const use = o?.specialUse;
        // A stale entry of an earlier folder of this name must not outlive it either way.
        await updateSpecialUse(home, (m) => (use ? m.get(r.name) !== use && !!m.set(r.name, use) : m.delete(r.name)));
        await ctx.mutex.run(r.dir, () => states.sync(r));
      });
      emit({ type: 'mailbox-create', user, mailbox: r.name });
    },

    async deleteMailbox(user: MailUser, name: string): Promise<void> {
      const r = ref(user, name);
      await forUser(user, async () => {
        await ctx.mutex.run(r.dir, () => deleteFolder(r.home, parseMailboxName(r.name), states, logger));
        await updateSpecialUse(r.home, (m) => m.delete(r.name));
      });
      cache.forgetMailbox(r.dir);
      emit({ type: 'mailbox-delete', user, mailbox: r.name });
    },

    async renameMailbox(user: MailUser, from: string, to: string): Promise<void> {
      const src = ref(user, from);
      const dst = ref(user, to);
      if (src.name === 'INBOX') {
        // RFC 3501 6.3.5: renaming INBOX moves its messages to the new name; INBOX stays.
        await store.createMailbox(user, dst.name);
        const { messages } = await store.listMessages(user, 'INBOX');
        await store.move(user, 'INBOX', messages.map((m) => m.uid), dst.name);
        return;
      }
      const renamed = await forUser(user, async () => {
        const done = await renameFolder(src.home, parseMailboxName(src.name), parseMailboxName(dst.name), states);
        // Subscriptions follow the rename, as Dovecot does, so clients keep seeing them.
        const map = new Map(done);
        await updateSubscriptions(src.home, (names) => names.map((n) => map.get(n) ?? n));
        await updateSpecialUse(src.home, (m) => renameSpecialUse(m, done));
        return done;
      });
      for (const [a] of renamed) cache.forgetMailbox(ref(user, a).dir);
      for (const [a, b] of renamed) emit({ type: 'mailbox-rename', user, mailbox: a, newName: b });
    },

    async listSubscriptions(user: MailUser): Promise<string[]> {
      const home = userDir(root, user);
      return (await isMaildir(home)) ? readSubscriptions(home) : [];
    },

    async setSubscribed(user: MailUser, name: string, subscribed: boolean): Promise<void> {
      const r = ref(user, name);
      await forUser(user, () =>
        updateSubscriptions(r.home, (names) =>
          subscribed ? (names.includes(r.name) ? names : [...names, r.name]) : names.filter((n) => n !== r.name),
        ),
      );
    },

    async deliver(user: MailUser, mailbox: string, source: MessageSource, o?: DeliverOptions): Promise<DeliverResult> {
      const r = ref(user, mailbox);
      if (!(await isMaildir(r.dir))) {
        if (r.name !== 'INBOX') throw new StoreError('no-mailbox', `no mailbox ${r.name}`);
        await ensureUser(user);
      }
      const result = await msg.deliver(ctx, r, source, o);
      // Deliveries without flags land in new/ under their base name: parse them when idle.
      if (!o?.flags?.length && !o?.keywords?.length) warmer.add(r, result.baseName);
      await addQuota(r.home, result.size, 1).catch((err: unknown) => logger.warn({ err }, 'maildirsize update failed'));
      logger.debug({ mailbox: r.name, uid: result.uid, size: result.size }, 'delivered');
      const modseq = await stampAppend(r, [result.uid]);
      emit({ type: 'append', user, mailbox: r.name, uid: result.uid, uidValidity: result.uidValidity, modseq });
      return result;
    },

    async listMessages(user: MailUser, mailbox: string): Promise<MessageListing> {
      const r = await existing(user, mailbox);
      const { list, files, mods, highestModseq } = await ctx.mutex.run(r.dir, async () => {
        const synced = await states.sync(r);
        // Modseqs are read under the same lock as the listing, so the two agree.
        const ms = await ctx.modseqs.sync(r, synced.list.uidValidity, nextUid(synced.list), synced.files);
        return { ...synced, mods: synced.files.map((f) => ms.of(f.uid)), highestModseq: ms.highest };
      });
      const table = await states.readKeywords(r.dir);
      // Unchanged files (the same array from states.sync), keyword table and modseqs: the
      // last answer stands. Roundcube's LOGIN+SELECT every minute then costs two stats, not
      // 10,000 MessageInfo objects. Callers copy what they keep and never mutate these.
      const memo = listings.get(r.dir);
      const sameTable = memo?.table === table || (memo?.table.length === 0 && table.length === 0); // no keywords file: a fresh []
      if (memo && memo.files === files && sameTable && memo.highestModseq === highestModseq) {
        return { uidValidity: list.uidValidity, uidNext: nextUid(list), highestModseq, messages: memo.messages };
      }
      const messages: MessageInfo[] = new Array<MessageInfo>(files.length);
      const unknown: number[] = [];
      for (let i = 0; i < files.length; i++) {
        const info = msg.toMessageInfoSync(ctx, r, files[i]!, table, mods[i]);
        if (info) messages[i] = info;
        else unknown.push(i);
      }
      // The first listing after a start stats every file (INTERNALDATE, size): 64 at a time.
      await eachLimited(unknown.length, 64, async (j) => {
        const i = unknown[j]!;
        messages[i] = await msg.toMessageInfo(ctx, r, files[i]!, table, mods[i]);
      });
      cache.reconcile(r.dir, files.length, () => files.map((f) => f.parsed.baseName));
      listings.delete(r.dir);
      if (listings.size >= MAX_LISTINGS) listings.delete(listings.keys().next().value!);
      listings.set(r.dir, { files, table, highestModseq, messages });
      return { uidValidity: list.uidValidity, uidNext: nextUid(list), highestModseq, messages };
    },

    async expungedSince(user: MailUser, mailbox: string, modseq: number): Promise<number[] | null> {
      const r = await existing(user, mailbox);
      return ctx.mutex.run(r.dir, async () => {
        const { list, files } = await states.sync(r);
        await ctx.modseqs.sync(r, list.uidValidity, nextUid(list), files); // outside expunges first
        return ctx.modseqs.expungedSince(r, list.uidValidity, nextUid(list), modseq);
      });
    },

    async openMessage(user: MailUser, mailbox: string, uid: number): Promise<Readable> {
      return msg.openMessage(ctx, await existing(user, mailbox), uid);
    },

    async messageStructure(user: MailUser, mailbox: string, uid: number): Promise<MimePart> {
      return messageStructure(ctx, cache, ref(user, mailbox), uid, () => existing(user, mailbox));
    },

    readSmallMessage(user: MailUser, mailbox: string, uid: number, limit: number): Promise<Buffer | null> {
      return msg.readSmallMessage(ctx, ref(user, mailbox), uid, limit);
    },

    peekStructure(user: MailUser, mailbox: string, uid: number): MimePart | undefined {
      return peekStructure(ctx, cache, ref(user, mailbox), uid);
    },

    async setFlags(
      user: MailUser,
      mailbox: string,
      uids: number[],
      op: 'set' | 'add' | 'remove',
      flags: SystemFlag[],
      keywords?: string[],
      opts: SetFlagsOptions = {},
    ): Promise<SetFlagsResult> {
      const r = await existing(user, mailbox);
      const { changed, modified, listing } = await msg.setFlags(ctx, r, uids, op, flags, keywords, opts.unchangedSince);
      // The last listing, if it was of exactly the files and modseqs STORE started from, is
      // brought up to date here: the next SELECT (Roundcube's every minute) reuses it
      // instead of building 10,000 MessageInfo objects again.
      const memo = listings.get(r.dir);
      if (listing && memo && memo.files === listing.filesBefore && memo.highestModseq === listing.highestBefore) {
        const byUid = new Map(changed.map((m) => [m.uid, m]));
        listings.set(r.dir, { ...memo, files: listing.filesAfter, highestModseq: listing.highestAfter, messages: memo.messages.map((m) => byUid.get(m.uid) ?? m) });
      }
      for (const m of changed) emit({ type: 'flags', user, mailbox: r.name, uid: m.uid, flags: m.flags, keywords: m.keywords, modseq: m.modseq });
      return Object.assign(changed, { modified });
    },

    async expunge(user: MailUser, mailbox: string, uids: number[]): Promise<number[]> {
      const r = await existing(user, mailbox);
      const bases = uids.map((u) => states.cachedFile(r.dir, u)?.parsed.baseName);
      const done = await msg.expunge(ctx, r, uids);
      const gone = new Set(done);
      cache.forget(r.dir, bases.filter((b, i): b is string => b !== undefined && gone.has(uids[i]!)));
      if (done.length > 0) {
        const modseq = await ctx.mutex.run(r.dir, async () => {
          const list = await uidlistOf(r);
          return ctx.modseqs.stampExpunge(r, list.uidValidity, nextUid(list), done);
        });
        emit({ type: 'expunge', user, mailbox: r.name, uids: done, modseq });
      }
      return done;
    },

    async copy(user: MailUser, from: string, uids: number[], to: string): Promise<Map<number, number>> {
      const src = await existing(user, from);
      const dst = await existing(user, to);
      const map = await msg.copy(ctx, src, uids, dst);
      const { uidValidity } = await ctx.mutex.run(dst.dir, async () => (await states.sync(dst)).list);
      const modseq = map.size > 0 ? await stampAppend(dst, [...map.values()]) : 0;
      for (const uid of map.values()) emit({ type: 'append', user, mailbox: dst.name, uid, uidValidity, modseq });
      return map;
    },

    async move(user: MailUser, from: string, uids: number[], to: string): Promise<Map<number, number>> {
      // RFC 6851: copy, then expunge exactly the messages that were copied.
      const map = await store.copy(user, from, uids, to);
      await store.expunge(user, from, [...map.keys()]);
      return map;
    },

    async quotaUsage(user: MailUser): Promise<QuotaUsage> {
      const home = userDir(root, user);
      try {
        await stat(home);
      } catch (err) {
        if (isErrno(err, 'ENOENT')) return { bytes: 0, messages: 0 };
        throw err;
      }
      return readQuota(home);
    },

    onChange(listener: (change: StoreChange) => void): () => void {
      bus.on('change', listener);
      return () => bus.off('change', listener);
    },

    watch(user: MailUser): WatchStop {
      const outside = (mailbox: string): void => {
        // Another program changed the mailbox; a file may have been replaced under its old
        // name: stat again (size, mtime) before trusting a cache entry or an INTERNALDATE.
        for (const m of states.metaFor(ref(user, mailbox).dir).values()) delete m.mtime;
        emit({ type: 'external', user, mailbox });
      };
      const w = new UserWatcher(userDir(root, user), outside, ctx.own, logger.child({ domain: user.domain, user: user.localPart }));
      watchers.add(w);
      const stop = () => {
        w.stop();
        watchers.delete(w);
      };
      return Object.assign(stop, { ready: w.ready });
    },

    async close(): Promise<void> {
      for (const w of watchers) w.stop();
      watchers.clear();
      await cache.flush();
      bus.removeAllListeners();
    },
  };
  return store;
}
