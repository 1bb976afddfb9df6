// Substring search in the decoded text of a message's body parts (SEARCH BODY / TEXT,
// RFC 3501 6.4.4), streaming: one pass over the stored bytes, each text part decoded
// (transfer encoding, then charset) chunk by chunk; memory stays at a chunk plus the
// longest needle. Not pure (reads a stream) but does no I/O of its own.
import type { Readable } from 'node:stream';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { charsetDecoder, transferDecoder, type ChunkDecoder } from './body-decode.js';
import { CrlfEncoder } from './scanner.js';
import type { MimePart } from './types.js';

/** Case-insensitive comparison form (close to i;unicode-casemap: compatibility-normalised
 *  and lower-cased, so full-width Latin and half-width kana match their usual forms). */
export function foldText(s: string): string {
  // NFKC leaves ASCII as it is; the test costs far less than normalize() on the text of a
  // whole mailbox (SEARCH TEXT), which is mostly ASCII even in Japanese mail's headers.
  return ASCII.test(s) ? s.toLowerCase() : s.normalize('NFKC').toLowerCase();
}

const ASCII = /^[\x00-\x7f]*$/;

/** The leaf parts whose decoded text BODY searches, as Dovecot chooses them: text/* and
 *  message/* leaves (delivery-status, global), in encapsulated messages too; not other
 *  types, nor a multipart's preamble and epilogue. */
export function textParts(root: MimePart): MimePart[] {
  const out: MimePart[] = [];
  const walk = (p: MimePart): void => {
    if (p.message) walk(p.message);
    else if (p.children.length) p.children.forEach(walk);
    else if ((p.contentType.type === 'text' || p.contentType.type === 'message') && p.bodyLength > 0) out.push(p);
  };
  walk(root);
  return out;
}

/** Which of `needles` (already folded) occur in the decoded body text. `open` gives the
 *  stored bytes as a stream, or whole when the caller could read them in one go. */
export async function findInBody(open: () => Promise<Readable | Buffer>, root: MimePart, needles: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  const want = needles.filter((n) => n.length > 0);
  for (const n of needles) if (n.length === 0) found.add(n); // the empty string is in every text
  if (want.length === 0) return found;
  const parts = textParts(root).sort((a, b) => a.bodyStart - b.bodyStart);
  if (parts.length === 0) return found;
  const keep = Math.max(...want.map((n) => n.length)) - 1;

  let idx = 0;
  let cur: { part: MimePart; te: ChunkDecoder<Buffer>; cs: ChunkDecoder<string>; tail: string } | null = null;
  const feedText = (text: string): void => {
    if (!cur || !text) return;
    const hay = cur.tail + foldText(text);
    for (const n of want) if (!found.has(n) && hay.includes(n)) found.add(n);
    cur.tail = keep > 0 ? hay.slice(-keep) : '';
  };
  const finish = (): void => {
    if (!cur) return;
    feedText(cur.cs.push(cur.te.end()) + cur.cs.end());
    cur = null;
  };
  const src = await open();
  // Whole and no needle with a line break in it: decode each part straight from the stored
  // (LF) bytes. The CRLF form only adds a CR before each bare LF, so a needle without CR or
  // LF matches the same text either way, and converting the whole message first was the
  // largest single cost of SEARCH TEXT over a big mailbox.
  if (Buffer.isBuffer(src) && !want.some((n) => /[\r\n]/.test(n))) {
    const at = storedOffsets(src, parts.flatMap((p) => [p.bodyStart, p.bodyStart + p.bodyLength]));
    for (let i = 0; i < parts.length && found.size < needles.length; i++) {
      const p = parts[i]!;
      cur = { part: p, te: transferDecoder(p.encoding), cs: charsetDecoder(p.contentType.params['charset']), tail: '' };
      feedText(cur.cs.push(cur.te.push(src.subarray(at[2 * i], at[2 * i + 1]))));
      finish();
    }
    return found;
  }
  const chunks: AsyncIterable<Buffer> | Iterable<Buffer> = Buffer.isBuffer(src) ? [src] : src;
  const enc = new CrlfEncoder();
  let pos = 0;
  let sinceYield = 0;
  try {
    for await (const raw of chunks) {
      let chunk = enc.push(raw as Buffer);
      let at = pos;
      pos += chunk.length;
      while (chunk.length && idx < parts.length) {
        const p: MimePart = cur?.part ?? parts[idx]!;
        const start = p.bodyStart;
        const end = p.bodyStart + p.bodyLength;
        if (at + chunk.length <= start) break;
        if (at < start) {
          chunk = chunk.subarray(start - at);
          at = start;
        }
        if (!cur) cur = { part: p, te: transferDecoder(p.encoding), cs: charsetDecoder(p.contentType.params['charset']), tail: '' };
        const take = Math.min(chunk.length, end - at);
        feedText(cur.cs.push(cur.te.push(chunk.subarray(0, take))));
        chunk = chunk.subarray(take);
        at += take;
        if (at >= end) {
          finish();
          idx++;
        }
      }
      if (found.size === needles.length || idx >= parts.length) break;
      // Decoding is CPU work on the one server thread: let other sessions run now and then.
      sinceYield += raw.length;
      if (sinceYield >= 256 * 1024) {
        sinceYield = 0;
        await yieldToLoop();
      }
    }
    finish();
  } finally {
    if (!Buffer.isBuffer(src)) src.destroy();
  }
  return found;
}

/**
 * Stored (LF) offsets of ascending offsets into the CRLF form (each bare LF counted as CRLF,
 * as the scanner counts): one walk over the line ends. An offset on the CR that the CRLF
 * form adds maps to the LF, so a part ending before a line end ends there in both.
 */
export function storedOffsets(buf: Buffer, crlf: readonly number[]): number[] {
  const out = new Array<number>(crlf.length);
  let k = 0;
  let pos = 0; // CRLF offset of the line start
  let st = 0; // stored offset of the line start
  while (k < crlf.length) {
    const nl = buf.indexOf(0x0a, st);
    if (nl === -1) {
      for (; k < crlf.length; k++) out[k] = Math.min(buf.length, st + (crlf[k]! - pos));
      break;
    }
    const bare = nl === 0 || buf[nl - 1] !== 0x0d;
    const content = nl - st; // bytes before the LF (a CR of a stored CRLF included)
    const len = content + (bare ? 2 : 1);
    for (; k < crlf.length && crlf[k]! < pos + len; k++) {
      const d = crlf[k]! - pos;
      out[k] = st + (bare ? Math.min(d, content) : d);
    }
    pos += len;
    st = nl + 1;
  }
  return out;
}
