// COMPRESS (RFC 4978 5): compress = "COMPRESS" SP algorithm. Pure.
import { Cursor } from './tokens.js';
import type { Command } from './types.js';

/** The algorithm comes back upper-cased; which ones exist is the handler's business (NO, not BAD). */
export function parseCompress(c: Cursor): Command {
  c.sp();
  const algorithm = c.keyword('a compression algorithm');
  c.end();
  return { name: 'COMPRESS', algorithm };
}
