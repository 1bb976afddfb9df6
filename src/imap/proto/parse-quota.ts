// QUOTA commands (RFC 9208 4.2, 6). Pure.
import { parseMailbox } from './parse-args.js';
import { clip, type Cursor, utf8 } from './tokens.js';
import type { Command } from './types.js';

/** quota-root-name = astring */
function rootName(c: Cursor): string {
  const b = c.astring('a quota root');
  if (b.includes(0)) c.fail('NUL in quota root');
  return utf8(b);
}

export function parseGetQuota(c: Cursor): Command {
  c.sp();
  const root = rootName(c);
  c.end();
  return { name: 'GETQUOTA', root };
}

export function parseGetQuotaRoot(c: Cursor): Command {
  c.sp();
  const mailbox = parseMailbox(c);
  c.end();
  return { name: 'GETQUOTAROOT', mailbox };
}

/** setquota = "SETQUOTA" SP quota-root-name SP setquota-list; setquota-resource = resource-name SP resource-limit. */
export function parseSetQuota(c: Cursor): Command {
  c.sp();
  const root = rootName(c);
  c.sp();
  const limits = c.list(
    () => {
      const res = c.keyword('a resource name');
      c.sp();
      const n = c.number('a resource limit');
      return [clip(res), n] as [string, number];
    },
    true,
    'a list of resource limits',
  );
  c.end();
  return { name: 'SETQUOTA', root, limits };
}
