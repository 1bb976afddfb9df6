// The one IMAP error family (STYLE.md 4). Handlers throw these; the session catches them in
// one place and writes the reply. Anything else is our bug: logged with its stack, and the
// client sees `NO [SERVERBUG]` with the session id, never storage or OS text.

/** Response codes we send (RFC 3501 7.1, RFC 5530, RFC 4315). */
export type ResponseCode =
  | 'ALERT'
  | 'AUTHENTICATIONFAILED'
  | 'AUTHORIZATIONFAILED'
  | 'BADCHARSET'
  | 'CANNOT'
  | 'CLIENTBUG'
  | 'COMPRESSIONACTIVE'
  | 'CONTACTADMIN'
  | 'EXPUNGEISSUED'
  | 'INUSE'
  | 'LIMIT'
  | 'NONEXISTENT'
  | 'ALREADYEXISTS'
  | 'OVERQUOTA'
  | 'PRIVACYREQUIRED'
  | 'SERVERBUG'
  | 'TOOBIG'
  | 'TRYCREATE'
  | 'UNAVAILABLE'
  | 'PARSE'
  | 'READ-ONLY'
  | 'READ-WRITE'
  // Part 2 extensions: RFC 6154 3, RFC 3516 4.3, RFC 5530 (NOPERM for SETQUOTA).
  | 'USEATTR'
  | 'UNKNOWN-CTE'
  | 'NOPERM';

abstract class ImapError extends Error {
  constructor(
    readonly text: string,
    /** The response code, written as `[CODE]`; may carry arguments (`BADCHARSET (UTF-8)`). */
    readonly code?: ResponseCode | `${ResponseCode} ${string}`,
  ) {
    super(text);
  }
  /** `[CODE] text` or `text`. */
  get responseText(): string {
    return this.code ? `[${this.code}] ${this.text}` : this.text;
  }
}

/** The client asked for something that cannot be done: tagged NO. */
export class ImapNo extends ImapError {
  override readonly name = 'ImapNo';
}

/** The request was malformed or not allowed in this state: tagged BAD. */
export class ImapBad extends ImapError {
  override readonly name = 'ImapBad';
}

/** The session must end: untagged BYE, then the connection closes. */
export class ImapBye extends ImapError {
  override readonly name = 'ImapBye';
}
