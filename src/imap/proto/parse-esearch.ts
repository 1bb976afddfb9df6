// SEARCH with ESEARCH result options (RFC 4731 3.1, RFC 4466 2.6):
// search = "SEARCH" [SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"]
//          [SP "CHARSET" SP astring] 1*(SP search-key). Pure.
import { parseSearch } from './parse-search.js';
import { clip, type Cursor } from './tokens.js';
import type { Command, SearchReturn } from './types.js';

const OPTIONS = new Set<string>(['MIN', 'MAX', 'ALL', 'COUNT']);

/** The search keys are parse-search.ts's; this reads the RETURN options in front of them. */
export function parseSearchCommand(c: Cursor, uid: boolean): Command {
  const start = c.pos;
  let ret: SearchReturn[] | undefined;
  c.sp();
  if ((c.peek() | 0x20) === 0x72 && c.keyword('a search key') === 'RETURN') {
    c.sp();
    const opts = c.list(
      () => {
        const o = c.keyword('a search return option');
        // SAVE (RFC 5182) is not offered; unknown options are BAD (RFC 4466 2.6.1).
        if (!OPTIONS.has(o)) c.fail(`Unknown SEARCH return option ${clip(o)}`);
        return o as SearchReturn;
      },
      true,
      'a list of search return options',
    );
    // RFC 4731 3.1: "RETURN ()" is the same as "RETURN (ALL)".
    ret = opts.length === 0 ? ['ALL'] : [...new Set(opts)];
  } else c.pos = start;
  const cmd = parseSearch(c, uid);
  if (ret && cmd.name === 'SEARCH') cmd.return = ret;
  return cmd;
}
