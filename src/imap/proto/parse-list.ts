// LIST and LSUB arguments (RFC 3501 6.3.8-9) with the LIST-EXTENDED grammar (RFC 5258 6),
// LIST-STATUS (RFC 5819 2) and the SPECIAL-USE options (RFC 6154 5.1). Pure.
//
// list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]
// mbox-or-pat = list-mailbox / patterns; patterns = "(" list-mailbox *(SP list-mailbox) ")"
//
// Choices (the grammar tests pin them):
// - Any of the three extended forms marks the command `extended`: only then may the reply
//   carry \NonExistent, CHILDINFO and the other extended data (RFC 5258 3).
// - Unknown selection or return options are BAD (RFC 5258 3: "respond to options it does
//   not recognize with a BAD"); so is RECURSIVEMATCH without a base option (RFC 5258 3.1).
// - Options given twice count once (RFC 5258 3).
import { parseListPattern, parseListReference, parseStatusItems } from './parse-args.js';
import { clip, type Cursor } from './tokens.js';
import type { Command, ListReturnOption, ListSelectOption, StatusItem } from './types.js';

const SELECT = new Set<string>(['SUBSCRIBED', 'REMOTE', 'RECURSIVEMATCH', 'SPECIAL-USE']);
const RETURN = new Set<string>(['SUBSCRIBED', 'CHILDREN', 'SPECIAL-USE']);

export function parseListCommand(name: 'LIST' | 'LSUB'): (c: Cursor) => Command {
  return (c) => {
    c.sp();
    let extended = false;
    let selectOptions: ListSelectOption[] | undefined;
    if (name === 'LIST' && c.peek() === 0x28) {
      const opts = c.list(
        () => {
          const o = c.keyword('a selection option');
          if (!SELECT.has(o)) c.fail(`Unknown LIST selection option ${clip(o)}`);
          return o as ListSelectOption;
        },
        true,
        'a list of selection options',
      );
      selectOptions = [...new Set(opts)];
      if (selectOptions.includes('RECURSIVEMATCH') && !selectOptions.some((o) => o === 'SUBSCRIBED' || o === 'SPECIAL-USE')) {
        c.fail('RECURSIVEMATCH needs another selection option (RFC 5258 3.1)');
      }
      extended = true;
      c.sp();
    }
    const reference = parseListReference(c);
    c.sp();
    let patterns: string[];
    if (name === 'LIST' && c.peek() === 0x28) {
      patterns = c.list(() => parseListPattern(c), false, 'a list of mailbox patterns');
      extended = true;
    } else patterns = [parseListPattern(c)];
    let returnOptions: ListReturnOption[] | undefined;
    let statusItems: StatusItem[] | undefined;
    if (name === 'LIST' && c.maybeSp()) {
      if (c.keyword('RETURN') !== 'RETURN') c.fail('Expected RETURN');
      c.sp();
      const opts: ListReturnOption[] = [];
      c.list(
        () => {
          const o = c.keyword('a return option');
          if (o === 'STATUS') {
            // RFC 5819 2: STATUS (status-att ...) as a return option.
            c.sp();
            statusItems = [...new Set([...(statusItems ?? []), ...parseStatusItems(c)])];
            return;
          }
          if (!RETURN.has(o)) c.fail(`Unknown LIST return option ${clip(o)}`);
          opts.push(o as ListReturnOption);
        },
        true,
        'a list of return options',
      );
      returnOptions = [...new Set(opts)];
      extended = true;
    }
    c.end();
    const cmd: Command = { name, reference, patterns };
    if (extended) cmd.extended = true;
    if (selectOptions) cmd.selectOptions = selectOptions;
    if (returnOptions) cmd.returnOptions = returnOptions;
    if (statusItems) cmd.statusItems = statusItems;
    return cmd;
  };
}
