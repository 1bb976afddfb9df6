// What IMAP sessions share in the process: the store's change bus fanned out per user, one
// store.watch per logged-in user (started with the first session, stopped WATCH_LINGER_MS
// after the last), and the \Recent bookkeeping.
//
// \Recent (RFC 3501 2.3.2): a message is recent in exactly one session, the first that
// selects its mailbox (SELECT, not EXAMINE: 6.3.2) or is told about it. We keep, per
// mailbox, the highest UID some session has claimed; a session claims every UID above it.
// Which UIDs are candidates at all: those that arrived while this process was running (we
// see every append record), and, from before, those whose file still sits in new/ (no
// client has seen them yet; Dovecot uses new/ the same way). So a restart does not make a
// whole mailbox recent again. The state is in memory: a restart re-derives it from new/.
import type { Logger } from 'pino';
import type { MailStore, MailUser, MessageInfo, StoreChange } from '../maildir/types.js';

export type ChangeListener = (change: StoreChange) => void;

/** How long a user's maildir watch outlives the user's last session. */
export const WATCH_LINGER_MS = 3 * 60_000;

const userKey = (u: MailUser): string => `${u.localPart}@${u.domain}`;

export class ImapHub {
  private readonly byUser = new Map<string, Set<ChangeListener>>();
  private readonly watches = new Map<string, () => void>();
  /** Per mailbox: highest claimed UID, and the first UID seen appended while running. */
  private readonly recentState = new Map<string, { floor: number; since: number }>();
  private readonly unsubscribe: () => void;
  /** Watches whose last session left, stopped when the timer fires unless one joins again. */
  private readonly lingering = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly store: MailStore,
    private readonly log: Logger,
    private readonly lingerMs = WATCH_LINGER_MS,
  ) {
    this.unsubscribe = store.onChange((c) => this.dispatch(c));
  }

  private dispatch(change: StoreChange): void {
    if (change.type === 'append') {
      const key = `${userKey(change.user)}\0${change.mailbox}`;
      const st = this.recentState.get(key);
      if (!st) this.recentState.set(key, { floor: 0, since: change.uid });
      else if (change.uid < st.since) st.since = change.uid;
    }
    const set = this.byUser.get(userKey(change.user));
    if (!set) return;
    for (const l of [...set]) {
      try {
        l(change);
      } catch (err) {
        this.log.error({ err }, 'imap change listener failed');
      }
    }
  }

  /** A logged-in session joins; returns leave(). The first session of a user starts the watcher. */
  join(user: MailUser, listener: ChangeListener): () => void {
    const key = userKey(user);
    let set = this.byUser.get(key);
    if (!set) {
      set = new Set();
      this.byUser.set(key, set);
    }
    const linger = this.lingering.get(key);
    if (linger) {
      clearTimeout(linger);
      this.lingering.delete(key);
    }
    if (!this.watches.has(key)) {
      try {
        this.watches.set(key, this.store.watch(user));
      } catch (err) {
        this.log.warn({ err, user: key }, 'cannot watch maildir; changes by other programs appear on reselect');
      }
    }
    set.add(listener);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      set.delete(listener);
      if (set.size === 0) {
        this.byUser.delete(key);
        // Kept a while: Roundcube logs in afresh every minute, and setting up inotify on
        // every folder of the user cost more than the rest of its LOGIN+SELECT.
        const t = setTimeout(() => {
          this.lingering.delete(key);
          if (this.byUser.has(key)) return;
          this.watches.get(key)?.();
          this.watches.delete(key);
        }, this.lingerMs);
        t.unref();
        this.lingering.set(key, t);
      }
    };
  }

  /**
   * UIDs of `uids` that are recent for the caller. With `claim` (SELECT, or news reaching a
   * read-write session) they stop being recent for everyone else.
   */
  recent(user: MailUser, mailbox: string, uids: number[], claim: boolean, listing: MessageInfo[]): Set<number> {
    const key = `${userKey(user)}\0${mailbox}`;
    let st = this.recentState.get(key);
    if (!st) {
      st = { floor: 0, since: Number.MAX_SAFE_INTEGER };
      this.recentState.set(key, st);
    }
    const isNew = new Set(listing.filter((m) => m.isNew).map((m) => m.uid));
    const out = new Set<number>();
    let max = st.floor;
    for (const u of uids) {
      if (u > st.floor && (u >= st.since || isNew.has(u))) {
        out.add(u);
        if (u > max) max = u;
      }
    }
    if (claim) {
      // Everything up to the highest UID shown is now taken, recent or not.
      const top = Math.max(max, ...uids);
      if (top > st.floor) st.floor = top;
    }
    return out;
  }

  /** A mailbox was deleted or renamed: its UIDs start over. */
  forgetMailbox(user: MailUser, mailbox: string): void {
    this.recentState.delete(`${userKey(user)}\0${mailbox}`);
  }

  close(): void {
    this.unsubscribe();
    for (const t of this.lingering.values()) clearTimeout(t);
    this.lingering.clear();
    for (const stop of this.watches.values()) stop();
    this.watches.clear();
    this.byUser.clear();
  }
}
