// Stream adapters around the pure scanner (not pure: they consume Node streams).
import { Readable } from 'node:stream';
import { CrlfEncoder, MimeScanner } from './scanner.js';
import type { MimePart } from './types.js';

/** Scans a stored message (LF line ends) without holding it in memory. */
export async function scanStream(readable: Readable): Promise<MimePart> {
  const s = new MimeScanner();
  for await (const chunk of readable) s.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : (chunk as Buffer));
  return s.end();
}

/**
 * The CRLF form's bytes [start, start + length), streamed from a fresh stored-bytes stream.
 * Exactly `length` bytes come out, because the literal's length was announced before the
 * first byte: if the file turns out shorter (changed under us), the rest is padded with
 * spaces rather than desynchronising the protocol.
 */
export function sectionStream(open: () => Promise<Readable>, start: number, length: number): Readable {
  async function* gen(): AsyncGenerator<Buffer> {
    if (length <= 0) return;
    const src = await open();
    const enc = new CrlfEncoder();
    let pos = 0; // CRLF offset of the next encoded byte
    let left = length;
    try {
      for await (const raw of src) {
        const chunk = enc.push(typeof raw === 'string' ? Buffer.from(raw, 'latin1') : (raw as Buffer));
        const chunkEnd = pos + chunk.length;
        if (chunkEnd > start) {
          const from = Math.max(0, start - pos);
          const piece = chunk.subarray(from, Math.min(chunk.length, from + left));
          left -= piece.length;
          if (piece.length) yield piece;
          if (left === 0) return;
        }
        pos = chunkEnd;
      }
    } finally {
      src.destroy();
    }
    if (left > 0) yield Buffer.alloc(left, 0x20);
  }
  return Readable.from(gen(), { objectMode: false });
}
