// COMPRESS DEFLATE (RFC 4978). Allowed after authentication (command-auth, RFC 4978 5), with
// or without TLS; the stream itself is src/imap/compress.ts, the socket swap the session's.
import { ImapNo } from '../errors.js';
import type { Command } from '../proto/types.js';
import type { ImapSession } from '../session.js';

type Of<N extends Command['name']> = Extract<Command, { name: N }>;

export async function compress(s: ImapSession, cmd: Of<'COMPRESS'>, tag: string): Promise<string | null> {
  // RFC 4978 3: a second COMPRESS is refused with COMPRESSIONACTIVE, and the layer named.
  if (s.compressed) throw new ImapNo('DEFLATE is active already on this connection', 'COMPRESSIONACTIVE');
  if (cmd.algorithm !== 'DEFLATE') throw new ImapNo(`Unknown compression algorithm ${cmd.algorithm.slice(0, 40)}`, 'CANNOT');
  // Untagged updates already due go out before the OK, uncompressed like everything before it.
  await s.flushUpdates(true);
  s.startCompression(tag);
  return null;
}
