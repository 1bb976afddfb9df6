// Streaming decoders for body text (pure, stateful): Content-Transfer-Encoding (RFC 2045 6)
// then charset, chunk by chunk, so SEARCH BODY can read a 25 MB part without holding it.
import { isAscii } from 'node:buffer';
import iconv from 'iconv-lite';
import Encoding from 'encoding-japanese';
import { decodeCharset, decodeQuotedPrintable } from './decode.js';

export interface ChunkDecoder<T> {
  push(chunk: Buffer): T;
  end(): T;
}

/** base64 / quoted-printable / identity, tolerant of garbage and of any chunk split. */
export function transferDecoder(encoding: string): ChunkDecoder<Buffer> {
  if (encoding === 'base64') {
    let carry = '';
    const dec = (s: string): Buffer => Buffer.from(s, 'base64');
    return {
      push(chunk) {
        const s = carry + chunk.toString('latin1').replace(/[^A-Za-z0-9+/]/g, '');
        const whole = s.length - (s.length % 4);
        carry = s.slice(whole);
        return dec(s.slice(0, whole));
      },
      end() {
        const s = carry;
        carry = '';
        return dec(s);
      },
    };
  }
  if (encoding === 'quoted-printable') {
    let carry = Buffer.alloc(0);
    return {
      push(chunk) {
        let buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
        // Hold back an escape that may continue in the next chunk ("=", "=4", "=\r").
        const eq = buf.lastIndexOf(0x3d, buf.length - 1);
        if (eq >= 0 && eq >= buf.length - 2) {
          carry = Buffer.from(buf.subarray(eq));
          buf = buf.subarray(0, eq);
        } else carry = Buffer.alloc(0);
        return decodeQuotedPrintable(buf);
      },
      end() {
        const out = decodeQuotedPrintable(carry);
        carry = Buffer.alloc(0);
        return out;
      },
    };
  }
  return { push: (c) => c, end: () => Buffer.alloc(0) };
}

const JIS = new Set(['iso-2022-jp', 'iso-2022-jp-1', 'iso-2022-jp-2', 'iso-2022-jp-3', 'csiso2022jp']);

/** Bytes in `charset` → text, chunk by chunk (multi-byte sequences may straddle chunks). */
export function charsetDecoder(charset: string | undefined): ChunkDecoder<string> {
  const cs = (charset ?? '').trim().toLowerCase();
  if (JIS.has(cs)) {
    // ISO-2022-JP is stateful but returns to ASCII before each line end (RFC 1468), so
    // whole lines decode on their own.
    let carry = Buffer.alloc(0);
    const dec = (b: Buffer): string => Encoding.codeToString(Encoding.convert(Array.from(b), { to: 'UNICODE', from: 'JIS' }) as number[]);
    return {
      push(chunk) {
        const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
        const nl = buf.lastIndexOf(0x0a);
        if (nl < 0) {
          carry = Buffer.from(buf);
          return '';
        }
        carry = Buffer.from(buf.subarray(nl + 1));
        return dec(buf.subarray(0, nl + 1));
      },
      end() {
        const out = dec(carry);
        carry = Buffer.alloc(0);
        return out;
      },
    };
  }
  const known = cs && cs !== 'us-ascii' && cs !== 'ascii' ? iconvName(cs) : null;
  if (known) {
    const d = iconv.getDecoder(known);
    return { push: (c) => d.write(c), end: () => d.end() ?? '' };
  }
  // No or unknown charset: decide on the first 8-bit data (UTF-8 if valid, else Japanese
  // detection, else windows-1252), as for raw header bytes.
  let inner: ChunkDecoder<string> | null = null;
  let pending: Buffer[] = [];
  let pendingLen = 0;
  const decide = (sample: Buffer): ChunkDecoder<string> => {
    const guess = guessCharset(sample);
    return charsetDecoder(guess);
  };
  return {
    push(chunk) {
      if (inner) return inner.push(chunk);
      // Plain ASCII reads the same under every guess: pass it on, and keep guessing for the
      // first 8-bit (or ISO-2022-JP escape) data, where the guess matters.
      if (pendingLen === 0 && isAscii(chunk) && !chunk.includes(0x1b)) return chunk.toString('latin1');
      pending.push(chunk);
      pendingLen += chunk.length;
      if (pendingLen < 4096) return ''; // a sample big enough to guess from (bounded)
      const all = Buffer.concat(pending);
      pending = [];
      inner = decide(all);
      return inner.push(all);
    },
    end() {
      if (!inner) {
        const all = Buffer.concat(pending);
        pending = [];
        return all.length ? decodeCharset(all, 'us-ascii') : '';
      }
      return inner.end();
    },
  };
}

function iconvName(cs: string): string | null {
  if (cs === 'shift_jis' || cs === 'shift-jis' || cs === 'sjis' || cs === 'x-sjis' || cs === 'windows-31j' || cs === 'cp932') return 'cp932';
  if (cs === 'utf8') return 'utf-8';
  if (cs === 'ks_c_5601-1987') return 'cp949';
  return iconv.encodingExists(cs) ? cs : null;
}

function guessCharset(sample: Buffer): string {
  if (sample.includes(0x1b) && !sample.some((b) => b >= 0x80)) return 'iso-2022-jp';
  // A cut multi-byte sequence at the end of the sample must not spoil the UTF-8 test.
  let end = sample.length;
  for (let k = 1; k <= 3 && end - k >= 0; k++) {
    const b = sample[end - k]!;
    if (b >= 0xc0) {
      end -= k;
      break;
    }
    if (b < 0x80) break;
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(sample.subarray(0, end));
    return 'utf-8';
  } catch {
    const det = Encoding.detect(Array.from(sample));
    if (det === 'SJIS') return 'cp932';
    if (det === 'EUCJP') return 'euc-jp';
    return 'windows-1252';
  }
}
