// Response values: what handlers build and the serializer writes. Pure data.
// Bodies of any size travel as `stream` values, so a FETCH of a 25 MB message is piped
// to the socket with backpressure instead of being built in memory.
import type { Readable } from 'node:stream';

export type ImapValue =
  | { t: 'atom'; v: string } // written as is: FLAGS names, NIL-free atoms, \Seen
  | { t: 'string'; v: string | Buffer } // quoted when safe, otherwise a literal
  | { t: 'literal'; v: Buffer; binary?: boolean } // always {n}CRLF + bytes (8-bit data, CR/LF); `binary`: ~{n} literal8 (RFC 3516 4.3)
  | { t: 'stream'; length: number; binary?: boolean; open: () => Readable | Promise<Readable> } // literal of known length
  | { t: 'number'; v: number | bigint }
  | { t: 'nil' }
  | { t: 'list'; v: ImapValue[] }
  | { t: 'raw'; v: string }; // preformatted text, e.g. the item name `BODY[HEADER.FIELDS (FROM)]<0>`

/** Serialized output: plain bytes, or a literal body to pipe (its `{n}\r\n` prefix already emitted). */
export type WireChunk = Buffer | { length: number; open: () => Readable | Promise<Readable> };
