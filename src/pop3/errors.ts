// The one POP3 error family. Handlers throw Pop3Err for every refusal; the session turns it
// into "-ERR [CODE] text" and one log line in a single place (session.ts). Anything else
// thrown is our failure: logged with its stack, the client sees a generic reply.

/** RFC 2449 8 extended response codes (plus RFC 3206 SYS/TEMP, SYS/PERM and AUTH). */
export type Pop3RespCode = 'IN-USE' | 'LOGIN-DELAY' | 'SYS/TEMP' | 'SYS/PERM' | 'AUTH';

export class Pop3Err extends Error {
  constructor(
    message: string,
    readonly opts: {
      code?: Pop3RespCode;
      /** Close the connection after the reply (too many errors, shutdown). */
      close?: boolean;
      /** Counts towards the bad-command limit (protocol misuse, not e.g. a locked mailbox). */
      bad?: boolean;
      /** Log level for this refusal; info by default (warn for things an operator should see). */
      level?: 'debug' | 'info' | 'warn';
    } = {},
  ) {
    super(message);
    this.name = 'Pop3Err';
  }

  get line(): string {
    return this.opts.code ? `-ERR [${this.opts.code}] ${this.message}` : `-ERR ${this.message}`;
  }
}

/** RFC 1939 numbering problems, shared by LIST/UIDL/RETR/TOP/DELE. */
export const noSuchMessage = (n: number): Pop3Err => new Pop3Err(`There is no message ${n}`, { bad: true });
export const alreadyDeleted = (n: number): Pop3Err => new Pop3Err(`Message ${n} is already deleted`, { bad: true });
export const removedElsewhere = (n: number): Pop3Err => new Pop3Err(`Message ${n} was removed by another session`);
