// The store's typed interface. Protocol modules (LMTP/delivery now, IMAP/POP3 later)
// reach mail only through this; no module outside src/maildir builds a file path.
import type { Readable } from 'node:stream';
import type { MimePart } from '../mime/types.js';

/** Whose mail: the store validates both parts before it builds any path. */
export interface MailUser {
  domain: string; // lower-case
  localPart: string; // lower-case
}

/** IMAP system flags that Maildir encodes in the file name's info part. */
export type SystemFlag = '\\Seen' | '\\Answered' | '\\Flagged' | '\\Deleted' | '\\Draft';

export interface MessageInfo {
  uid: number;
  /** Base file name without the `:2,` info part; stable across flag changes. */
  baseName: string;
  flags: SystemFlag[];
  keywords: string[];
  /** Physical size on disk (S=). */
  size: number;
  /** Size with CRLF line endings, as IMAP reports RFC822.SIZE (W=). */
  vsize: number;
  internalDate: Date;
  /** True while the file still sits in new/ (IMAP \Recent candidate). */
  isNew: boolean;
  /** RFC 7162 mod-sequence: the last change of this message (append or flags), persisted. */
  modseq: number;
}

/** RFC 6154 special uses the store can give a mailbox. */
export type SpecialUse = '\\Drafts' | '\\Sent' | '\\Junk' | '\\Trash' | '\\Archive';

export interface MailboxInfo {
  /** IMAP name in UTF-8, hierarchy separated by '/' internally ("INBOX", "Archive/2024"). */
  name: string;
  uidValidity: number;
  uidNext: number;
  specialUse?: SpecialUse;
  subscribed: boolean;
}

/** What delivery hands the store: the bytes of one message, readable more than once. */
export interface MessageSource {
  /** Opens a fresh stream of the whole message (LF or CRLF line ends; the store normalises). */
  open(): Readable;
}

export interface DeliverOptions {
  flags?: SystemFlag[];
  keywords?: string[];
  internalDate?: Date;
}

export interface DeliverResult {
  uid: number;
  uidValidity: number;
  baseName: string;
  size: number;
  vsize: number;
}

export interface QuotaUsage {
  bytes: number;
  messages: number;
}

/** Records of what changed; one bus delivers them to every interested session. */
export type StoreChange =
  | { type: 'append'; user: MailUser; mailbox: string; uid: number; uidValidity: number; modseq: number }
  | { type: 'flags'; user: MailUser; mailbox: string; uid: number; flags: SystemFlag[]; keywords: string[]; modseq: number }
  | { type: 'expunge'; user: MailUser; mailbox: string; uids: number[]; modseq: number }
  | { type: 'mailbox-create'; user: MailUser; mailbox: string }
  | { type: 'mailbox-delete'; user: MailUser; mailbox: string }
  | { type: 'mailbox-rename'; user: MailUser; mailbox: string; newName: string }
  /** The directory changed on disk by another program (Dovecot, a restore): re-sync. */
  | { type: 'external'; user: MailUser; mailbox: string };

export interface MessageListing {
  uidValidity: number;
  uidNext: number;
  /** RFC 7162 HIGHESTMODSEQ; persisted, never goes down while UIDVALIDITY stays. */
  highestModseq: number;
  messages: MessageInfo[];
}

export interface SetFlagsOptions {
  /** RFC 7162 3.1.3 UNCHANGEDSINCE: messages whose modseq is higher are left alone. */
  unchangedSince?: number;
}

/** The messages as they are now (changed or not); `modified` lists UIDs that failed UNCHANGEDSINCE. */
export type SetFlagsResult = MessageInfo[] & { modified: number[] };

export interface MailStore {
  /** Creates the user's Maildir with INBOX, Drafts, Sent, Junk, Trash, Archive (idempotent). */
  ensureUser(user: MailUser): Promise<void>;
  /** Removes nothing on disk by itself; deleting a user's mail is an explicit admin step. */

  listMailboxes(user: MailUser): Promise<MailboxInfo[]>;
  /** `specialUse`: CREATE-SPECIAL-USE (RFC 6154 3), kept in our own file (special-use.ts). */
  createMailbox(user: MailUser, name: string, opts?: { specialUse?: SpecialUse }): Promise<void>;
  deleteMailbox(user: MailUser, name: string): Promise<void>;
  renameMailbox(user: MailUser, from: string, to: string): Promise<void>;
  setSubscribed(user: MailUser, name: string, subscribed: boolean): Promise<void>;
  /** Every subscribed name, whether the mailbox exists or not (LIST (SUBSCRIBED), RFC 5258 3.1). */
  listSubscriptions(user: MailUser): Promise<string[]>;

  /** Writes tmp → fsync → rename into new/ → fsync new/, then assigns the UID. */
  deliver(user: MailUser, mailbox: string, source: MessageSource, opts?: DeliverOptions): Promise<DeliverResult>;

  /** Current messages in UID order, after syncing new/ and cur/ with dovecot-uidlist. */
  listMessages(user: MailUser, mailbox: string): Promise<MessageListing>;
  /** Streams one message's bytes as stored. */
  openMessage(user: MailUser, mailbox: string, uid: number): Promise<Readable>;
  /**
   * The message's parsed MIME structure (headers, parts, offsets). Served from the store's
   * parsed-message cache when it is fresh; parsed from the file (and cached) otherwise.
   */
  messageStructure(user: MailUser, mailbox: string, uid: number): Promise<MimePart>;
  /**
   * The structure when the cache's memory layer holds it for the file as last listed, with
   * no I/O and no await (a warm SEARCH over a big mailbox); undefined sends the caller to
   * messageStructure(). Optional: other stores may not keep one.
   */
  peekStructure?(user: MailUser, mailbox: string, uid: number): MimePart | undefined;
  /**
   * The stored bytes in one buffer when the message is at most `limit` bytes and the store
   * can read it at once; null (or no such method) means: stream it with openMessage().
   */
  readSmallMessage?(user: MailUser, mailbox: string, uid: number, limit: number): Promise<Buffer | null>;

  setFlags(
    user: MailUser,
    mailbox: string,
    uids: number[],
    op: 'set' | 'add' | 'remove',
    flags: SystemFlag[],
    keywords?: string[],
    opts?: SetFlagsOptions,
  ): Promise<SetFlagsResult>;
  /**
   * UIDs expunged after `modseq` (RFC 7162 QRESYNC), ascending; null when expunges that old
   * are no longer remembered (the caller treats every absent UID as expunged, 3.2.5.2).
   */
  expungedSince(user: MailUser, mailbox: string, modseq: number): Promise<number[] | null>;
  /** Removes the messages; returns the UIDs actually expunged. */
  expunge(user: MailUser, mailbox: string, uids: number[]): Promise<number[]>;
  /** Returns the map of source UID → new UID in the target (UIDPLUS COPYUID). */
  copy(user: MailUser, from: string, uids: number[], to: string): Promise<Map<number, number>>;
  move(user: MailUser, from: string, uids: number[], to: string): Promise<Map<number, number>>;

  quotaUsage(user: MailUser): Promise<QuotaUsage>;

  /** Subscribe to change records (own writes and files changed by other programs). Returns unsubscribe. */
  onChange(listener: (change: StoreChange) => void): () => void;
  /** Starts watching a user's mailboxes for changes made by other programs. Returns stop. */
  watch(user: MailUser): () => void;

  close(): Promise<void>;
}

/** The caller asked for something impossible (bad name, no such mailbox): maps to a NO / 5xx. */
export class StoreError extends Error {
  constructor(
    readonly code: 'invalid-name' | 'no-mailbox' | 'exists' | 'no-message' | 'over-quota' | 'not-empty',
    message: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}
