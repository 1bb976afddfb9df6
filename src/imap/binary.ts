// FETCH BINARY[section]<partial>, BINARY.PEEK and BINARY.SIZE (RFC 3516 4.2, 4.3): a part's
// content with its Content-Transfer-Encoding undone, and only that: the charset is not
// touched (a Shift_JIS text part comes out as Shift_JIS bytes).
//
// The decoded size must be announced before the first byte, and decoded content is never
// held whole (a 25 MB attachment): the part is decoded once to count its bytes and to spot
// NUL (which needs a literal8, RFC 3516 4.3), then again while it is sent.
import { Readable } from 'node:stream';
import { sectionStream } from '../mime/load.js';
import { transferDecoder } from '../mime/body-decode.js';
import { findPart, messageEnd } from '../mime/section.js';
import type { MimePart } from '../mime/types.js';
import { ImapNo } from './errors.js';
import type { MessageLoader } from './fetch.js';
import type { ImapValue } from './proto/values.js';

/** Encodings whose content is the bytes themselves (RFC 2045 6.2). */
const IDENTITY = new Set(['7bit', '8bit', 'binary']);

interface BinarySource {
  start: number;
  length: number;
  /** base64 / quoted-printable, or null for identity encodings. */
  encoding: string | null;
}

/**
 * Where a binary section's bytes come from: the whole message for `[]`, otherwise the part's
 * body. Null when the part does not exist. An encoding we cannot undo is NO [UNKNOWN-CTE].
 */
function binarySource(root: MimePart, section: number[]): BinarySource | null {
  if (section.length === 0) return { start: root.headerStart, length: messageEnd(root) - root.headerStart, encoding: null };
  const part = findPart(root, section);
  if (!part) return null;
  const enc = part.encoding.toLowerCase();
  // A multipart or message/rfc822 part carries no encoding of its own (RFC 2045 6.4).
  if (part.contentType.type === 'multipart' || part.message || IDENTITY.has(enc)) {
    return { start: part.bodyStart, length: part.bodyLength, encoding: null };
  }
  if (enc === 'base64' || enc === 'quoted-printable') return { start: part.bodyStart, length: part.bodyLength, encoding: enc };
  throw new ImapNo(`Cannot decode Content-Transfer-Encoding ${enc.slice(0, 40)}`, 'UNKNOWN-CTE');
}

/** The decoded bytes of a source, chunk by chunk. */
async function* decoded(src: BinarySource, loader: MessageLoader): AsyncGenerator<Buffer> {
  const raw = sectionStream(() => loader.open(), src.start, src.length);
  const dec = src.encoding ? transferDecoder(src.encoding) : null;
  try {
    for await (const chunk of raw) {
      const out = dec ? dec.push(chunk as Buffer) : (chunk as Buffer);
      if (out.length) yield out;
    }
    const tail = dec?.end();
    if (tail?.length) yield tail;
  } finally {
    raw.destroy();
  }
}

/** Decoded size and whether a NUL occurs in [from, from + count). */
async function measure(src: BinarySource, loader: MessageLoader, from = 0, count = Infinity): Promise<{ size: number; nul: boolean }> {
  let size = 0;
  let nul = false;
  for await (const chunk of decoded(src, loader)) {
    const a = Math.max(0, from - size);
    const b = Math.min(chunk.length, from + count - size);
    if (!nul && a < b && chunk.subarray(a, b).includes(0)) nul = true;
    size += chunk.length;
  }
  return { size, nul };
}

/** Exactly `length` decoded bytes from `origin` (padded with spaces if the file changed meanwhile). */
function slice(src: BinarySource, loader: MessageLoader, origin: number, length: number): Readable {
  async function* gen(): AsyncGenerator<Buffer> {
    let pos = 0;
    let left = length;
    for await (const chunk of decoded(src, loader)) {
      const end = pos + chunk.length;
      if (end > origin) {
        const piece = chunk.subarray(Math.max(0, origin - pos), Math.max(0, origin - pos) + left);
        left -= piece.length;
        if (piece.length) yield piece;
        if (left === 0) return;
      }
      pos = end;
    }
    if (left > 0) yield Buffer.alloc(left, 0x20);
  }
  return Readable.from(gen(), { objectMode: false });
}

/** `BINARY[1.2]<origin>` item name and its value: a literal8 when the bytes hold NUL. */
export async function binaryItem(
  root: MimePart,
  section: number[],
  partial: { origin: number; count: number } | undefined,
  loader: MessageLoader,
): Promise<[ImapValue, ImapValue]> {
  const name: ImapValue = { t: 'raw', v: `BINARY[${section.join('.')}]${partial ? `<${partial.origin}>` : ''}` };
  const src = binarySource(root, section);
  // A part that does not exist reads as empty, as BODY[] does (src/imap/fetch.ts).
  if (!src) return [name, { t: 'string', v: '' }];
  const origin = partial?.origin ?? 0;
  const { size, nul } = await measure(src, loader, origin, partial?.count ?? Infinity);
  const length = Math.max(0, Math.min(size - origin, partial?.count ?? Infinity));
  if (length === 0) return [name, { t: 'string', v: '' }];
  return [name, { t: 'stream', length, binary: nul, open: () => slice(src, loader, origin, length) }];
}

/** `BINARY.SIZE[1.2] n` (RFC 3516 4.2): the decoded size. */
export async function binarySizeItem(root: MimePart, section: number[], loader: MessageLoader): Promise<[ImapValue, ImapValue]> {
  const src = binarySource(root, section);
  const size = src ? (await measure(src, loader)).size : 0;
  return [{ t: 'raw', v: `BINARY.SIZE[${section.join('.')}]` }, { t: 'number', v: size }];
}
