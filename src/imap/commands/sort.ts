// SORT, UID SORT, THREAD and UID THREAD (RFC 5256, RFC 5957). The keys and their order are
// src/imap/sort.ts, the threading src/imap/thread.ts; this file owns the commands: the
// charset, one pass over the view that applies the search criteria (the SEARCH evaluator)
// and reads each matching message's header once, and the reply.
//
// Large mailboxes (issue 4 benchmarks 10,000 messages): each message's keys are computed
// once and kept (key-cache.ts), so a warm SORT asks the store for nothing; a cold one reads
// headers through store.messageStructure() (the store's parsed-message cache), a batch at a
// time, and the pass yields to the event loop between batches so other sessions keep being
// served. Bodies are never read unless a BODY/TEXT criterion asks for it.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { StoreError } from '../../maildir/types.js';
import type { MimePart } from '../../mime/types.js';
import { ImapNo } from '../errors.js';
import { searchModseqSuffix } from './condstore.js';
import type { MessageLoader } from '../fetch.js';
import { type DerivedKeys, fillKeys, type KeyName, missing } from '../header-keys.js';
import { keyCacheFor, type ReplyMemo } from '../key-cache.js';
import { sortFlags } from '../mailbox-view.js';
import type { Command, SearchKey } from '../proto/types.js';
import { matchSearch, type SearchMessage } from '../search.js';
import type { ImapSession } from '../session.js';
import { sortKeyNames, sortMessages, sortValues } from '../sort.js';
import { formatThreads, THREAD_KEYS, threadMessage, threadOrderedSubject, threadReferences, type ThreadMessage } from '../thread.js';

type Of<N extends Command['name']> = Extract<Command, { name: N }>;

/** The charsets our search strings can be in (RFC 5256 3: as SEARCH; RFC 3501 6.4.4). */
const CHARSETS = new Set(['UTF-8', 'US-ASCII']);

/** Messages whose headers are loaded at once; then the pass yields to the event loop. */
const BATCH = 64;

function checkCharset(charset: string): void {
  if (!CHARSETS.has(charset)) throw new ImapNo('Unsupported charset', 'BADCHARSET (UTF-8 US-ASCII)');
}

/** What `extract` gets of a message besides its keys. */
type Meta = Pick<SearchMessage, 'seq' | 'uid' | 'internalDate' | 'size'>;

/** The criteria are ALL (alone or ANDed): every message matches, nothing to evaluate. */
function matchesAll(key: SearchKey): boolean {
  return key.kind === 'all' || (key.kind === 'and' && key.keys.every(matchesAll));
}

/** Messages a warm pass handles between two yields to the event loop. */
const SYNC_SLICE = 4096;

/**
 * The messages matching `key`, in sequence order, each turned into `extract(meta, keys)`
 * with the `want` keys filled, and the highest modseq among them. A message expunged by
 * another session (its EXPUNGE not yet sent) never matches: RFC 2180 4.3 leaves that open,
 * and leaving it out always keeps the answer the same whether its keys are cached or not.
 *
 * Two passes: criteria of ALL over messages whose keys are cached need no await and no
 * allocation beyond the result (Roundcube's every-minute `UID SORT (DATE) UTF-8 ALL`); the
 * others go through the SEARCH evaluator and the store, a batch at a time.
 */
async function collect<T>(
  s: ImapSession,
  key: SearchKey,
  uid: boolean,
  want: readonly KeyName[],
  extract: (meta: Meta, keys: DerivedKeys) => T,
): Promise<{ items: T[]; topModseq: number }> {
  if (s.state.kind !== 'selected') throw new Error('not selected');
  const { sel, mailUser } = s.state;
  const { store } = s.deps;
  const view = sel.view;
  const all = view.all();
  const cached = keyCacheFor(store).mailbox(mailUser, sel.mailbox, view.uidValidity);
  const ctx = { maxSeq: all.length, maxUid: all.at(-1)?.uid ?? 0 };
  const out: Array<T | undefined> = new Array<T | undefined>(all.length);
  let topModseq = 0;
  const slow: number[] = [];
  const simple = matchesAll(key);
  for (let i = 0; i < all.length; i++) {
    if (i > 0 && i % SYNC_SLICE === 0) await yieldToLoop();
    const m = all[i]!;
    if (view.isExpungePending(m.uid)) continue;
    const keys = simple ? cached.keys(m.uid, m.size, m.internalDate.getTime()) : null;
    if (!keys || missing(keys, want)) {
      slow.push(i);
      continue;
    }
    out[i] = extract({ seq: i + 1, uid: m.uid, internalDate: m.internalDate, size: m.size }, keys);
    if ((m.modseq ?? 0) > topModseq) topModseq = m.modseq!;
  }
  const one = async (i: number): Promise<void> => {
    const m = all[i]!;
    let root: Promise<MimePart> | null = null;
    const loader: MessageLoader = {
      open: () => store.openMessage(mailUser, sel.mailbox, m.uid),
      structure: () => (root ??= store.messageStructure(mailUser, sel.mailbox, m.uid)),
    };
    const meta: SearchMessage = {
      seq: i + 1,
      uid: m.uid,
      flags: m.recent ? [...sortFlags(m.flags), '\\Recent'] : m.flags,
      internalDate: m.internalDate,
      size: m.size,
      recent: m.recent,
      modseq: BigInt(m.modseq ?? 0),
    };
    try {
      if (!simple && !(await matchSearch(key, meta, loader, ctx))) return;
      const keys = cached.keys(m.uid, m.size, m.internalDate.getTime());
      if (missing(keys, want)) fillKeys(keys, want, (await loader.structure()).headers);
      out[i] = extract(meta, keys);
      topModseq = Math.max(topModseq, m.modseq ?? 0);
    } catch (err) {
      if (err instanceof StoreError && err.code === 'no-message') return;
      throw err;
    }
  };
  for (let start = 0; start < slow.length; start += BATCH) {
    await Promise.all(slow.slice(start, start + BATCH).map(one));
    if (start + BATCH < slow.length) await yieldToLoop();
  }
  return { items: out.filter((x): x is T => x !== undefined), topModseq };
}

/**
 * The mailbox's reply memo when the reply depends only on its messages: criteria of ALL and
 * no expunge pending in this view (those are left out of replies). With a token for set().
 */
function replyMemo(s: ImapSession, key: SearchKey): { memo: ReplyMemo; token: number } | null {
  if (s.state.kind !== 'selected' || !matchesAll(key)) return null;
  const { sel, mailUser } = s.state;
  if (sel.view.expungesPending > 0) return null;
  const memo = keyCacheFor(s.deps.store).mailbox(mailUser, sel.mailbox, sel.view.uidValidity).replies;
  return { memo, token: memo.sync(sel.view.all()) };
}

export async function sort(s: ImapSession, cmd: Of<'SORT'>): Promise<string> {
  checkCharset(cmd.charset);
  const done = `${cmd.uid ? 'UID SORT' : 'SORT'} completed`;
  const memo = replyMemo(s, cmd.key);
  const memoKey = `SORT ${cmd.uid} ${cmd.criteria.map((c) => (c.reverse ? 'REVERSE ' : '') + c.key).join(' ')}`;
  const hit = memo?.memo.get(memoKey);
  if (hit !== undefined) {
    s.send(hit);
    return done;
  }
  const { items, topModseq } = await collect(s, cmd.key, cmd.uid, sortKeyNames(cmd.criteria), (meta, keys) => ({
    seq: meta.seq,
    id: cmd.uid ? meta.uid : meta.seq,
    values: sortValues(cmd.criteria, meta, keys),
  }));
  sortMessages(items, cmd.criteria);
  // RFC 7162 3.1.5 and its sort-data syntax (7): with a MODSEQ criterion, SORT ends with the
  // highest modseq of the matches.
  const modseq = searchModseqSuffix(s, cmd.key, items.length, topModseq, false);
  const line = (items.length > 0 ? `* SORT ${items.map((x) => x.id).join(' ')}` : '* SORT') + modseq;
  memo?.memo.set(memoKey, line, memo.token);
  s.send(line);
  return done;
}

export async function thread(s: ImapSession, cmd: Of<'THREAD'>): Promise<string> {
  checkCharset(cmd.charset);
  const done = `${cmd.uid ? 'UID THREAD' : 'THREAD'} completed`;
  const memo = replyMemo(s, cmd.key);
  const memoKey = `THREAD ${cmd.uid} ${cmd.algorithm}`;
  const hit = memo?.memo.get(memoKey);
  if (hit !== undefined) {
    s.send(hit);
    return done;
  }
  const { items: msgs } = await collect<ThreadMessage>(s, cmd.key, cmd.uid, THREAD_KEYS, (meta, keys) =>
    threadMessage(meta.seq, cmd.uid ? meta.uid : meta.seq, keys, meta.internalDate),
  );
  // A MODSEQ criterion enables CONDSTORE (RFC 7162 3.1) even though THREAD's reply carries no modseq.
  searchModseqSuffix(s, cmd.key, 0, 0, false);
  const roots = cmd.algorithm === 'REFERENCES' ? threadReferences(msgs) : threadOrderedSubject(msgs);
  const line = formatThreads(roots);
  memo?.memo.set(memoKey, line, memo.token);
  s.send(line);
  return done;
}
