// Per-user INBOX lock for POP3 (RFC 1939 8: "the POP3 server acquires an exclusive-access
// lock on the maildrop" so numbering and deletions stay consistent). In process: one
// registry shared by the plain and the TLS listener. IMAP does not take it; IMAP's
// expunges reach a POP3 session as change records instead.

export class MaildropLocks {
  private readonly held = new Map<string, string>();

  /** Returns a release function, or null when another session holds the lock. */
  acquire(key: string, sid: string): (() => void) | null {
    if (this.held.has(key)) return null;
    this.held.set(key, sid);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (this.held.get(key) === sid) this.held.delete(key);
    };
  }

  holder(key: string): string | undefined {
    return this.held.get(key);
  }
}
