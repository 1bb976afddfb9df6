// Small text forms for status and listing lines. Bodies and FETCH items go through the
// proto serializer (values → wire chunks); these cover the fixed-shape lines the commands
// write themselves.
import { encodeMutf7 } from '../maildir/utf7.js';
import type { ViewUpdate } from './mailbox-view.js';

/** A string as IMAP `astring`-safe text: quoted when it can be, a literal otherwise (RFC 3501 4.3). */
export function imapString(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x20-\x7e]*$/.test(s) && s.length < 1024) return `"${s.replace(/[\\"]/g, '\\$&')}"`;
  return `{${Buffer.byteLength(s, 'utf8')}}\r\n${s}`;
}

/** A mailbox name as the client sees it: modified UTF-7 (RFC 3501 5.1.3), quoted. */
export function mailboxString(clientName: string): string {
  return imapString(encodeMutf7(clientName));
}

export const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'] as const;

export function flagList(flags: readonly string[]): string {
  return `(${flags.join(' ')})`;
}

/** Compact UID set for COPYUID/APPENDUID (RFC 4315): 1:3,7 — order kept, as the codes pair them up. */
export function uidSetText(uids: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < uids.length) {
    let j = i;
    while (j + 1 < uids.length && uids[j + 1] === uids[j]! + 1) j++;
    parts.push(j > i ? `${uids[i]}:${uids[j]}` : `${uids[i]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** The untagged line(s) for one mailbox view update. */
export function updateLines(u: ViewUpdate, withUid: boolean): string[] {
  switch (u.kind) {
    case 'expunge':
      return [`* ${u.seq} EXPUNGE`];
    case 'exists':
      return [`* ${u.count} EXISTS`];
    case 'recent':
      return [`* ${u.count} RECENT`];
    case 'flags':
      return [
        `* FLAGS ${flagList([...SYSTEM_FLAGS, ...u.keywords])}`,
        `* OK [PERMANENTFLAGS ${flagList([...SYSTEM_FLAGS, ...u.keywords, '\\*'])}] Flags permitted`,
      ];
    case 'fetch': {
      const flags = u.recent ? [...u.flags, '\\Recent'] : u.flags;
      return [withUid ? `* ${u.seq} FETCH (UID ${u.uid} FLAGS ${flagList(flags)})` : `* ${u.seq} FETCH (FLAGS ${flagList(flags)})`];
    }
  }
}
