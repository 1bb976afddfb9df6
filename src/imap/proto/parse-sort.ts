// SORT and THREAD arguments (RFC 5256 5, RFC 5957 5). Pure.
//   sort          = ["UID" SP] "SORT" SP sort-criteria SP search-criteria
//   sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"
//   sort-criterion = ["REVERSE" SP] sort-key
//   thread        = ["UID" SP] "THREAD" SP thread-alg SP search-criteria
//   search-criteria = charset 1*(SP search-key)
// Unlike SEARCH, the charset is mandatory and has no CHARSET keyword in front. An unknown
// sort key, an empty criteria list and an unknown algorithm are syntax errors (BAD); an
// unknown charset parses, and the handler answers NO [BADCHARSET], as SEARCH does.
import { parseSearch } from './parse-search.js';
import { clip, type Cursor, utf8 } from './tokens.js';
import type { Command, SearchKey, SortCriterion, SortKeyName, ThreadAlgorithm } from './types.js';

const SORT_KEYS = new Set<string>(['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO', 'DISPLAYFROM', 'DISPLAYTO']);
const ALGORITHMS = new Set<string>(['REFERENCES', 'ORDEREDSUBJECT']);

function criterion(c: Cursor): SortCriterion {
  let key = c.keyword('a sort key');
  const reverse = key === 'REVERSE';
  if (reverse) {
    if (c.peek() !== 0x20) c.fail('Expected a sort key after REVERSE');
    c.sp();
    key = c.keyword('a sort key');
  }
  if (!SORT_KEYS.has(key)) c.fail(`Unknown sort key ${clip(key)}`);
  return { key: key as SortKeyName, reverse };
}

/** charset 1*(SP search-key): the keys come back as one `and`, as for SEARCH. */
function searchCriteria(c: Cursor, uid: boolean): { charset: string; key: SearchKey } {
  c.sp();
  const charset = utf8(c.astring('a charset name')).toUpperCase();
  const search = parseSearch(c, uid);
  if (search.name !== 'SEARCH') return c.fail('Expected search criteria');
  // parseSearch takes an optional CHARSET first; here the charset has been given already.
  if (search.charset !== undefined) c.fail('Unexpected CHARSET in search criteria');
  return { charset, key: search.key };
}

export function parseSort(c: Cursor, uid: boolean): Command {
  c.sp();
  const criteria = c.list(() => criterion(c), false, 'a sort criteria list');
  return { name: 'SORT', uid, criteria, ...searchCriteria(c, uid) };
}

export function parseThread(c: Cursor, uid: boolean): Command {
  c.sp();
  const algorithm = c.keyword('a threading algorithm');
  if (!ALGORITHMS.has(algorithm)) c.fail(`Unknown threading algorithm ${clip(algorithm)}`);
  return { name: 'THREAD', uid, algorithm: algorithm as ThreadAlgorithm, ...searchCriteria(c, uid) };
}
