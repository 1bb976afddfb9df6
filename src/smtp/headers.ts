// Pure helpers for the submitted message's header section: line-ending normalisation,
// finding the end of the header section, and reading From:. No I/O.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const addressparser = require('nodemailer/lib/addressparser/index.js') as (
  s: string,
  o?: { flatten?: boolean },
) => Array<{ address?: string; name?: string }>;

const CR = 0x0d;
const LF = 0x0a;
const CRLF = Buffer.from('\r\n');

/**
 * Turns every bare CR and bare LF into CRLF, across chunk boundaries. This is the defence
 * against SMTP smuggling (RFC 5321 2.3.8 allows only CRLF as a line ending): smtp-server
 * ends DATA only at <CRLF>.<CRLF>, and after this pass the stored message has no lone
 * CR or LF left, so a "<LF>.<LF>" in the content becomes an ordinary line holding a dot,
 * which the next hop's dot-stuffing escapes. Also notes whether a NUL was seen.
 */
/**
 * True when every CR in the chunk is followed by LF and every LF preceded by CR (so nothing
 * to rewrite, and no CR held back at the end). Found with indexOf (memchr) per line instead
 * of a JavaScript loop over every byte: this runs on every byte of every submitted message.
 */
function isPlainCrlf(chunk: Buffer): boolean {
  let lfs = 0;
  for (let pos = chunk.indexOf(LF); pos !== -1; pos = chunk.indexOf(LF, pos + 1)) {
    if (pos === 0 || chunk[pos - 1] !== CR) return false;
    lfs++;
  }
  let crs = 0;
  for (let pos = chunk.indexOf(CR); pos !== -1; pos = chunk.indexOf(CR, pos + 1)) crs++;
  return crs === lfs;
}

export class LineEndNormalizer {
  private pendingCr = false;
  sawNul = false;
  sawBareEol = false;

  push(chunk: Buffer): Buffer {
    if (!this.pendingCr && isPlainCrlf(chunk)) {
      if (chunk.indexOf(0) !== -1) this.sawNul = true;
      return chunk;
    }
    const out: Buffer[] = [];
    let start = 0;
    let i = 0;
    if (this.pendingCr) {
      this.pendingCr = false;
      if (chunk.length > 0 && chunk[0] === LF) {
        out.push(CRLF);
        start = i = 1;
      } else {
        this.sawBareEol = true;
        out.push(CRLF);
      }
    }
    for (; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === 0) this.sawNul = true;
      else if (b === CR) {
        if (i + 1 === chunk.length) {
          out.push(chunk.subarray(start, i));
          this.pendingCr = true;
          start = chunk.length;
        } else if (chunk[i + 1] === LF) {
          i++;
        } else {
          this.sawBareEol = true;
          out.push(chunk.subarray(start, i), CRLF);
          start = i + 1;
        }
      } else if (b === LF) {
        this.sawBareEol = true;
        out.push(chunk.subarray(start, i), CRLF);
        start = i + 1;
      }
    }
    if (start < chunk.length) out.push(chunk.subarray(start));
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  /** The end of the data: a CR held back at the last chunk's end becomes CRLF. */
  end(): Buffer {
    if (!this.pendingCr) return Buffer.alloc(0);
    this.pendingCr = false;
    this.sawBareEol = true;
    return CRLF;
  }
}

/** Index just past the blank line that ends the header section, or -1 (input is CRLF-only). */
export function headerEnd(buf: Buffer): number {
  if (buf.length >= 2 && buf[0] === CR && buf[1] === LF) return 2; // no header fields at all
  const i = buf.indexOf('\r\n\r\n');
  return i < 0 ? -1 : i + 4;
}

export interface HeaderField {
  name: string; // lower case
  value: string; // unfolded
}

/** Unfolds the header section into fields (RFC 5322 2.2.3). Lines without a colon are skipped. */
export function parseHeaderFields(section: Buffer): HeaderField[] {
  const text = section.toString('utf8');
  const out: HeaderField[] = [];
  for (const raw of text.split(/\r\n(?![ \t])/)) {
    if (!raw) continue;
    const colon = raw.indexOf(':');
    if (colon <= 0) continue;
    out.push({ name: raw.slice(0, colon).trim().toLowerCase(), value: raw.slice(colon + 1).replace(/\r\n/g, '').trim() });
  }
  return out;
}

/** The mailbox addresses of one address-list header value (group syntax flattened). */
export function headerAddresses(value: string): string[] {
  return addressparser(value, { flatten: true })
    .map((a) => (a.address ?? '').trim())
    .filter((a) => a !== '');
}

/** A bare syntactic check of an addr-spec (the policy compares exact addresses after this). */
export function isAddress(a: string): boolean {
  const at = a.lastIndexOf('@');
  return at > 0 && at < a.length - 1 && !/[\s<>()\\,;"]/.test(a.slice(at)) && a.length <= 320;
}
