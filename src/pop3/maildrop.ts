// The session's view of the INBOX during the TRANSACTION state: a snapshot taken at login.
// RFC 1939 5: message numbers are fixed for the session, sizes are CRLF sizes (the store's
// vsize), deletions are only marks until QUIT (UPDATE state). A message that another
// session (IMAP) expunges meanwhile stays in the numbering, marked `removed`, so STAT and
// LIST keep their answers and RETR/TOP fail cleanly.
import type { MailUser, MessageInfo } from '../maildir/types.js';
import { alreadyDeleted, noSuchMessage } from './errors.js';

export interface DropMessage {
  uid: number;
  vsize: number;
  deleted: boolean;
  /** Expunged by another session since the snapshot. */
  removed: boolean;
  /** Sent whole by RETR: gets \Seen at QUIT, as Dovecot does. */
  retrieved: boolean;
}

export class Maildrop {
  readonly messages: DropMessage[];

  constructor(
    readonly user: MailUser,
    readonly address: string,
    readonly uidValidity: number,
    infos: MessageInfo[],
  ) {
    this.messages = infos.map((m) => ({ uid: m.uid, vsize: m.vsize, deleted: false, removed: false, retrieved: false }));
  }

  /** Message `n` (1-based) that is not marked deleted; otherwise the RFC 1939 -ERR. */
  get(n: number): DropMessage {
    const m = n >= 1 ? this.messages[n - 1] : undefined;
    if (!m) throw noSuchMessage(n);
    if (m.deleted) throw alreadyDeleted(n);
    return m;
  }

  /** Live (not deleted) messages with their 1-based numbers. */
  *live(): Generator<[number, DropMessage]> {
    for (let i = 0; i < this.messages.length; i++) if (!this.messages[i]!.deleted) yield [i + 1, this.messages[i]!];
  }

  stat(): { count: number; octets: number } {
    let count = 0;
    let octets = 0;
    for (const [, m] of this.live()) {
      count++;
      octets += m.vsize;
    }
    return { count, octets };
  }

  markRemoved(uids: readonly number[]): number {
    const set = new Set(uids);
    let n = 0;
    for (const m of this.messages) {
      if (set.has(m.uid) && !m.removed) {
        m.removed = true;
        n++;
      }
    }
    return n;
  }

  reset(): void {
    for (const m of this.messages) m.deleted = false;
  }

  deletedUids(): number[] {
    return this.messages.filter((m) => m.deleted && !m.removed).map((m) => m.uid);
  }

  retrievedUids(): number[] {
    return this.messages.filter((m) => m.retrieved && !m.deleted && !m.removed).map((m) => m.uid);
  }
}
