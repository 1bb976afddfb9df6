// The SORT/THREAD keys of each message (header-keys.ts), kept across commands and sessions so
// that a warm SORT or THREAD over a big mailbox asks the store for nothing: Roundcube sorts
// the same folder again at every page and every minute's refresh.
//
// Why keys may be kept by UID: a UID names one message for as long as UIDVALIDITY stays
// (RFC 3501 2.3.1.1), so the keys of (user, mailbox, UIDVALIDITY, UID) never change. A file
// that another program replaced under the same name is caught anyway: each entry remembers
// the size and INTERNALDATE (the file's mtime) it was computed for and starts afresh when the
// listing reports others, the test the store's parsed-message cache applies too. Deleting
// that cache changes nothing here (the keys come from the same bytes).
//
// Bounded by a number of messages; whole mailboxes leave, least recently sorted first. One
// cache per store instance (tests run several daemons in one process).
import type { MailStore, MailUser } from '../maildir/types.js';
import type { DerivedKeys } from './header-keys.js';

/** About 40 MB of keys at a few hundred bytes each. */
export const MAX_CACHED_MESSAGES = 100_000;

interface Entry {
  size: number;
  date: number;
  keys: DerivedKeys;
}

/** One mailbox's entries (a UIDVALIDITY of it). */
export interface MailboxKeys {
  /** The keys found so far for this version of message `uid` (an empty object to fill when new). */
  keys(uid: number, size: number, internalDate: number): DerivedKeys;
  /** Whole SORT/THREAD replies over ALL of the mailbox (see ReplyMemo). */
  replies: ReplyMemo;
}

/** What a reply over ALL depends on, per message in sequence order. */
interface Listed {
  uid: number;
  size: number;
  internalDate: Date;
}

/**
 * The last replies of SORT and THREAD with the criterion ALL, while the mailbox holds the same
 * messages: the same UIDs in the same order, each with the same size and INTERNALDATE, have
 * the same keys (see above), so the same criteria give the same reply, whatever their flags.
 * Roundcube sends `UID SORT (DATE) UTF-8 ALL` (or THREAD) again at every page and every
 * minute's refresh; checking the messages costs far less than sorting or threading them.
 */
export class ReplyMemo {
  private uids = new Int32Array(0);
  private sizes = new Float64Array(0);
  private dates = new Float64Array(0);
  private readonly lines = new Map<string, string>();
  /** Bumped whenever the messages differ: a reply computed across an await for older ones is not kept. */
  private generation = 0;

  /** Makes the memo about `msgs`, dropping replies for other messages; returns a token for set(). */
  sync(msgs: readonly Listed[]): number {
    const n = msgs.length;
    let same = n === this.uids.length;
    for (let i = 0; same && i < n; i++) {
      const m = msgs[i]!;
      same = m.uid === this.uids[i] && m.size === this.sizes[i] && m.internalDate.getTime() === this.dates[i];
    }
    if (same) return this.generation;
    this.lines.clear();
    this.uids = new Int32Array(n);
    this.sizes = new Float64Array(n);
    this.dates = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const m = msgs[i]!;
      this.uids[i] = m.uid;
      this.sizes[i] = m.size;
      this.dates[i] = m.internalDate.getTime();
    }
    return ++this.generation;
  }

  get(key: string): string | undefined {
    return this.lines.get(key);
  }

  set(key: string, line: string, token: number): void {
    if (token !== this.generation) return;
    if (this.lines.size >= MAX_REPLIES) this.lines.delete(this.lines.keys().next().value!);
    this.lines.set(key, line);
  }
}

/** Replies kept per mailbox (a few sort orders and the thread view). */
const MAX_REPLIES = 6;

export class KeyCache {
  private readonly boxes = new Map<string, Map<number, Entry>>();
  private readonly replies = new Map<string, ReplyMemo>();
  private count = 0;

  constructor(private readonly max = MAX_CACHED_MESSAGES) {}

  /** How many messages' keys are kept (for tests and metrics). */
  get size(): number {
    return this.count;
  }

  mailbox(user: MailUser, mailbox: string, uidValidity: number): MailboxKeys {
    const id = `${user.domain}\0${user.localPart}\0${mailbox}\0${uidValidity}`;
    let box = this.boxes.get(id);
    if (box) this.boxes.delete(id); // to the young end
    else box = new Map();
    this.boxes.set(id, box);
    const entries = box;
    let replies = this.replies.get(id);
    if (!replies) this.replies.set(id, (replies = new ReplyMemo()));
    return {
      replies,
      keys: (uid, size, date) => {
        const e = entries.get(uid);
        if (e && e.size === size && e.date === date) return e.keys;
        if (!e) {
          if (!this.makeRoom(id)) return {}; // this mailbox alone fills the cache: not kept
          this.count++;
        }
        const fresh: Entry = { size, date, keys: {} };
        entries.set(uid, fresh);
        return fresh.keys;
      },
    };
  }

  /** Evicts the least recently used other mailboxes until one more entry fits. */
  private makeRoom(keep: string): boolean {
    for (const [id, box] of this.boxes) {
      if (this.count < this.max) break;
      if (id === keep) continue;
      this.count -= box.size;
      this.boxes.delete(id);
      this.replies.delete(id);
    }
    return this.count < this.max;
  }
}

const caches = new WeakMap<MailStore, KeyCache>();

export function keyCacheFor(store: MailStore): KeyCache {
  let c = caches.get(store);
  if (!c) caches.set(store, (c = new KeyCache()));
  return c;
}
