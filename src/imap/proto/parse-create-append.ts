// CREATE with CREATE-SPECIAL-USE parameters (RFC 6154 3, RFC 4466 create-params) and APPEND
// with literal8 (RFC 3516 4.4) or the UTF8 data item (RFC 6855 4). Pure.
import { parseDateTime, parseFlagList, parseMailbox } from './parse-args.js';
import { clip, type Cursor } from './tokens.js';
import type { Command } from './types.js';

/**
 * create = "CREATE" SP mailbox [SP "(" create-param *(SP create-param) ")"];
 * create-param =/ "USE" SP "(" [use-attr *(SP use-attr)] ")"; use-attr = "\" atom.
 * Other create parameters are BAD (RFC 4466 2.2: unknown parameters MUST be rejected).
 */
export function parseCreate(c: Cursor): Command {
  c.sp();
  const mailbox = parseMailbox(c);
  if (!c.maybeSp()) {
    c.end();
    return { name: 'CREATE', mailbox };
  }
  let useAttrs: string[] | undefined;
  c.list(
    () => {
      const param = c.keyword('a CREATE parameter');
      if (param !== 'USE') c.fail(`Unknown CREATE parameter ${clip(param)}`);
      c.sp();
      const attrs = c.list(
        () => {
          c.expect(0x5c, 'a special-use attribute (\\Name)');
          return `\\${c.atom('a special-use attribute')}`;
        },
        true,
        'a list of special-use attributes',
      );
      useAttrs = [...(useAttrs ?? []), ...attrs];
    },
    false,
    'a list of CREATE parameters',
  );
  c.end();
  const cmd: Command = { name: 'CREATE', mailbox };
  if (useAttrs) cmd.useAttrs = useAttrs;
  return cmd;
}

/**
 * append = "APPEND" SP mailbox [SP flag-list] [SP date-time] SP append-data;
 * append-data = literal / literal8 (RFC 3516) / "UTF8" SP "(" literal8 ")" (RFC 6855 4).
 */
export function parseAppend(c: Cursor): Command {
  c.sp();
  const mailbox = parseMailbox(c);
  c.sp();
  let flags: string[] = [];
  let internalDate: Date | undefined;
  if (c.peek() === 0x28) {
    flags = parseFlagList(c);
    c.sp();
  }
  if (c.peek() === 0x22) {
    internalDate = parseDateTime(c);
    c.sp();
  }
  let utf8 = false;
  if ((c.peek() | 0x20) === 0x75) {
    if (c.keyword('UTF8') !== 'UTF8') c.fail('APPEND needs the message as a literal');
    c.sp();
    c.expect(0x28, '"(" before the UTF8 literal');
    utf8 = true;
  }
  if (!c.isLiteralStart()) c.fail('APPEND needs the message as a literal');
  const message = c.literal(true);
  if (utf8) c.expect(0x29, '")" after the UTF8 literal');
  c.end();
  const cmd: Command = { name: 'APPEND', mailbox, flags, message };
  if (internalDate) cmd.internalDate = internalDate;
  if (utf8) cmd.utf8 = true;
  return cmd;
}
