// Typed IMAP commands: what the parser produces and the session's handlers consume.
// Pure data. Mailbox names here are already decoded from modified UTF-7 into UTF-8 with the
// client's hierarchy delimiter still in place; the session maps them to store names.
import type { SectionSpec } from '../../mime/types.js';

/** A sequence set (RFC 3501 9 `sequence-set`). `*` is kept symbolic: its value depends on the mailbox. */
export type SeqNumber = number | '*';
export interface SeqRange {
  from: SeqNumber;
  to: SeqNumber; // equal to `from` for a single number
}
export type SequenceSet = SeqRange[] | '$'; // '$' = SEARCHRES (RFC 5182), reserved for part 2

export type FlagName = string; // '\\Seen', '\\Deleted', or a keyword atom, as written

export type FetchAttr =
  | { kind: 'ENVELOPE' }
  | { kind: 'FLAGS' }
  | { kind: 'INTERNALDATE' }
  | { kind: 'RFC822' } // = BODY[] (sets \Seen)
  | { kind: 'RFC822.HEADER' } // = BODY.PEEK[HEADER]
  | { kind: 'RFC822.TEXT' } // = BODY[TEXT] (sets \Seen)
  | { kind: 'RFC822.SIZE' }
  | { kind: 'UID' }
  | { kind: 'BODY' } // BODYSTRUCTURE without extension data
  | { kind: 'BODYSTRUCTURE' }
  | { kind: 'MODSEQ' } // CONDSTORE, part 2
  | {
      kind: 'BODY[]';
      peek: boolean;
      section: SectionSpec;
      /** <origin.count> partial fetch. */
      partial?: { origin: number; count: number };
      /** The section text as the client wrote it (the reply echoes it, RFC 3501 7.4.2). */
      label: string;
    }
  | { kind: 'BINARY[]'; peek: boolean; section: number[]; partial?: { origin: number; count: number } } // part 2
  | { kind: 'BINARY.SIZE'; section: number[] }; // part 2

export type SearchKey =
  | { kind: 'all' }
  | { kind: 'seqset'; set: SequenceSet }
  | { kind: 'uid'; set: SequenceSet }
  | { kind: 'flag'; flag: FlagName; set: boolean } // ANSWERED/UNANSWERED, DELETED, …, KEYWORD/UNKEYWORD
  | { kind: 'new' } // RECENT and UNSEEN
  | { kind: 'old' } // NOT RECENT
  | { kind: 'recent'; set: boolean }
  | { kind: 'header'; field: string; value: string } // FROM/TO/CC/BCC/SUBJECT map to header
  | { kind: 'body'; value: string }
  | { kind: 'text'; value: string }
  | { kind: 'internaldate'; op: 'before' | 'on' | 'since'; date: string } // 'YYYY-MM-DD'
  | { kind: 'sentdate'; op: 'before' | 'on' | 'since'; date: string }
  | { kind: 'size'; op: 'larger' | 'smaller'; n: number }
  | { kind: 'not'; key: SearchKey }
  | { kind: 'or'; a: SearchKey; b: SearchKey }
  | { kind: 'and'; keys: SearchKey[] } // a parenthesised list, or the top level
  | { kind: 'modseq'; n: bigint }; // CONDSTORE, part 2

export type StatusItem = 'MESSAGES' | 'RECENT' | 'UIDNEXT' | 'UIDVALIDITY' | 'UNSEEN' | 'SIZE' | 'HIGHESTMODSEQ' | 'APPENDLIMIT';

/** ESEARCH result options (RFC 4731 3.1); `RETURN ()` comes back as ['ALL']. */
export type SearchReturn = 'MIN' | 'MAX' | 'ALL' | 'COUNT';

/** LIST-EXTENDED selection options (RFC 5258 3.1, RFC 6154 5.1); upper-cased, each once. */
export type ListSelectOption = 'SUBSCRIBED' | 'REMOTE' | 'RECURSIVEMATCH' | 'SPECIAL-USE';
/** LIST-EXTENDED return options (RFC 5258 3.2, RFC 6154 5.1); STATUS (RFC 5819) travels in `statusItems`. */
export type ListReturnOption = 'SUBSCRIBED' | 'CHILDREN' | 'SPECIAL-USE';

export type Command =
  // Any state
  | { name: 'CAPABILITY' }
  | { name: 'NOOP' }
  | { name: 'LOGOUT' }
  | { name: 'ID'; params: Array<[string, string | null]> | null }
  | { name: 'ENABLE'; capabilities: string[] }
  // Not authenticated
  | { name: 'STARTTLS' }
  /** `initial`: SASL-IR initial response ('=' for an empty one, RFC 4959), undefined when absent. */
  | { name: 'AUTHENTICATE'; mechanism: string; initial?: string }
  | { name: 'LOGIN'; username: string; password: string }
  // Authenticated
  /** RFC 7162: `(CONDSTORE)` and `(QRESYNC (...))` select parameters. */
  | { name: 'SELECT' | 'EXAMINE'; mailbox: string; condstore?: boolean; qresync?: QresyncParams }
  /** `useAttrs`: CREATE-SPECIAL-USE `(USE (\\Archive))` (RFC 6154 3), as written (with the backslash). */
  | { name: 'CREATE'; mailbox: string; useAttrs?: string[] }
  | { name: 'DELETE'; mailbox: string }
  | { name: 'RENAME'; from: string; to: string }
  | { name: 'SUBSCRIBE' | 'UNSUBSCRIBE'; mailbox: string }
  /**
   * `reference` and `patterns` as given; patterns keep `*` and `%`. LIST-EXTENDED syntax
   * (RFC 5258: selection options, a list of patterns, RETURN) sets `extended`, LIST only.
   */
  | {
      name: 'LIST' | 'LSUB';
      reference: string;
      patterns: string[];
      extended?: boolean;
      selectOptions?: ListSelectOption[];
      returnOptions?: ListReturnOption[];
      /** LIST-STATUS: `RETURN (STATUS (MESSAGES UNSEEN))` (RFC 5819). */
      statusItems?: StatusItem[];
    }
  | { name: 'NAMESPACE' }
  | { name: 'STATUS'; mailbox: string; items: StatusItem[] }
  | {
      name: 'APPEND';
      mailbox: string;
      flags: FlagName[];
      internalDate?: Date;
      /** The message literal, already read by the receiver (capped by the literal limit). */
      message: Buffer;
      /** Sent as `UTF8 (~{n})` (RFC 6855 4): allowed only after ENABLE UTF8=ACCEPT. */
      utf8?: boolean;
    }
  /** QUOTA (RFC 9208 4.2); quota roots are names as written. */
  | { name: 'GETQUOTA'; root: string }
  | { name: 'GETQUOTAROOT'; mailbox: string }
  | { name: 'SETQUOTA'; root: string; limits: Array<[string, number]> }
  | { name: 'IDLE' }
  /** COMPRESS (RFC 4978 3); the algorithm upper-cased. */
  | { name: 'COMPRESS'; algorithm: string }
  // Selected
  | { name: 'CHECK' }
  | { name: 'CLOSE' }
  | { name: 'UNSELECT' }
  | { name: 'EXPUNGE' }
  | { name: 'UID EXPUNGE'; set: SequenceSet }
  | { name: 'SEARCH'; uid: boolean; charset?: string; key: SearchKey; return?: SearchReturn[] }
  | {
      name: 'FETCH';
      uid: boolean;
      set: SequenceSet;
      attrs: FetchAttr[];
      macro?: 'ALL' | 'FAST' | 'FULL';
      /** RFC 7162 3.1.4.1 CHANGEDSINCE and 3.2.6 VANISHED modifiers. */
      changedSince?: number;
      vanished?: boolean;
    }
  | {
      name: 'STORE';
      uid: boolean;
      set: SequenceSet;
      op: 'set' | 'add' | 'remove'; // FLAGS, +FLAGS, -FLAGS
      silent: boolean;
      flags: FlagName[];
      /** RFC 7162 3.1.3 UNCHANGEDSINCE (0 allowed: it always fails). */
      unchangedSince?: number;
    }
  | { name: 'COPY' | 'MOVE'; uid: boolean; set: SequenceSet; mailbox: string }
  /** SORT (RFC 5256 3, RFC 5957); the charset is upper-cased, checked by the handler. */
  | { name: 'SORT'; uid: boolean; criteria: SortCriterion[]; charset: string; key: SearchKey }
  | { name: 'THREAD'; uid: boolean; algorithm: ThreadAlgorithm; charset: string; key: SearchKey };

export type SortKeyName = 'ARRIVAL' | 'CC' | 'DATE' | 'FROM' | 'SIZE' | 'SUBJECT' | 'TO' | 'DISPLAYFROM' | 'DISPLAYTO';
export interface SortCriterion {
  key: SortKeyName;
  reverse: boolean;
}
export type ThreadAlgorithm = 'REFERENCES' | 'ORDEREDSUBJECT';

export type CommandName = Command['name'];

/** QRESYNC select parameter (RFC 7162 3.2.5): what the client knew when it last synced. */
export interface QresyncParams {
  uidValidity: number;
  modseq: number;
  /** UIDs the client knows (ranges as written; `*` is not allowed here). */
  knownUids?: SeqRange[];
  /** Sequence numbers and the UIDs the client has for them (3.2.5.2). */
  seqMatch?: { seqs: SeqRange[]; uids: SeqRange[] };
}

/** One parsed request: the tag and either a command or why it could not be parsed. */
export type Request =
  | { tag: string; ok: true; command: Command }
  /** Syntax error: answered `<tag> BAD <text>` (or untagged BAD when no tag could be read). */
  | { tag: string | null; ok: false; error: string };
