// What we advertise, by connection state. Only what works (issue 3): SASL mechanisms are the
// ones our stored hashes can serve, and no AUTH= before TLS unless the peer counts as secure
// (RFC 3501 6.2.1, 7.2.1: LOGINDISABLED).
import { SASL_MECHANISMS } from '../auth/sasl.js';

/** Extensions of IMAP part 1; the order is the one clients see. */
export const BASE_CAPABILITIES = [
  'IMAP4rev1',
  'LITERAL+',
  'SASL-IR',
  'IDLE',
  'UIDPLUS',
  'MOVE',
  'UNSELECT',
  'NAMESPACE',
  'ID',
  'ENABLE',
  'SPECIAL-USE',
  'CHILDREN',
  // Part 2 (issue 4): listing, status, quota, search results, BINARY, UTF-8 names.
  'LIST-EXTENDED',
  'LIST-STATUS',
  'STATUS=SIZE',
  'CREATE-SPECIAL-USE',
  'QUOTA',
  'QUOTA=RES-STORAGE',
  'ESEARCH',
  'BINARY',
  'UTF8=ACCEPT',
  // RFC 7162: mod-sequences persisted per message (src/maildir/modseq.ts).
  'CONDSTORE',
  'QRESYNC',
  // Issue 4: server-side sorting and threading (RFC 5256, RFC 5957).
  'SORT',
  'SORT=DISPLAY',
  'THREAD=ORDEREDSUBJECT',
  'THREAD=REFERENCES',
  // RFC 4978; offered in every state (a client may only read the greeting's list), used after login.
  'COMPRESS=DEFLATE',
] as const;

export interface CapabilityContext {
  /** The connection is TLS (implicit or after STARTTLS). */
  tls: boolean;
  /** STARTTLS is possible on this listener (not yet TLS). */
  starttlsAvailable: boolean;
  /** Passwords may be sent now: TLS, or loopback with `auth.loopbackIsSecure`. */
  secure: boolean;
  authenticated: boolean;
  /** The largest APPEND accepted (imap.maxLiteralBytes), announced as APPENDLIMIT (RFC 7889). */
  appendLimit?: number;
}

export function capabilities(ctx: CapabilityContext): string[] {
  const caps: string[] = [...BASE_CAPABILITIES];
  if (ctx.appendLimit !== undefined) caps.push(`APPENDLIMIT=${ctx.appendLimit}`);
  if (!ctx.authenticated) {
    if (!ctx.tls && ctx.starttlsAvailable) caps.push('STARTTLS');
    if (ctx.secure) for (const m of SASL_MECHANISMS) caps.push(`AUTH=${m}`);
    else caps.push('LOGINDISABLED');
  }
  return caps;
}
