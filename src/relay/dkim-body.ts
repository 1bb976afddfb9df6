// The DKIM body hash with "relaxed" canonicalization (RFC 6376 3.4.4), for bytes that are
// CRLF-normalised already (every stored message is: intake rewrites bare CR and LF):
//   a. whitespace at the end of each line is ignored; runs of WSP inside a line become one SP
//   b. empty lines at the end of the body are ignored; a non-empty body ends with CRLF
// mailauth's hasher looks at every byte in JavaScript. Here a run of complete lines with no
// TAB, no two spaces in a row and no space before CRLF (most mail: base64 and ordinary text)
// is already canonical and goes to the native hash as it is, found with indexOf; only lines
// in runs that need rewriting are rewritten one by one. The result is byte for byte
// mailauth's (test/relay/dkim-body.test.ts compares both on random and edge-case input).
import { createHash, type Hash } from 'node:crypto';

const CRLF = Buffer.from('\r\n', 'latin1');
const TAB = 0x09;
const SP = 0x20;
const CR = 0x0d;
const LF = 0x0a;

export class RelaxedBodyHash {
  private readonly hash: Hash = createHash('sha256');
  /** Bytes after the last LF seen: a line not complete yet. */
  private partial: Buffer | null = null;
  /** Empty lines seen but not hashed: they count only if a non-empty line follows. */
  private emptyLines = 0;

  update(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const lastLf = chunk.lastIndexOf(LF);
    if (lastLf < 0) {
      this.partial = this.partial ? Buffer.concat([this.partial, chunk]) : chunk;
      return;
    }
    const head = chunk.subarray(0, lastLf + 1);
    const lines = this.partial ? Buffer.concat([this.partial, head]) : head;
    this.partial = lastLf + 1 < chunk.length ? chunk.subarray(lastLf + 1) : null;
    if (isCanonical(lines)) this.clean(lines);
    else this.rewrite(lines);
  }

  /** The base64 body hash (the bh= value); the hasher is spent afterwards. */
  digest(encoding: 'base64'): string {
    if (this.partial) {
      // A last line without CRLF: canonicalized as a line, and CRLF added (3.4.4 b).
      const line = canonicalLine(this.partial, this.partial.length);
      if (line.length > 0) this.emit(line, true);
      this.partial = null;
    }
    return this.hash.digest(encoding);
  }

  /** Complete CRLF lines, canonical as they are: only the empty lines at the end wait. */
  private clean(lines: Buffer): void {
    let end = lines.length;
    let trailing = 0;
    // The last line is empty when its CRLF starts the buffer or follows the previous LF.
    while (end >= 2 && (end === 2 || lines[end - 3] === LF)) {
      end -= 2;
      trailing++;
    }
    if (end > 0) this.emit(lines.subarray(0, end), false);
    this.emptyLines += trailing;
  }

  /** Line by line: WSP runs folded, trailing WSP dropped. */
  private rewrite(lines: Buffer): void {
    let start = 0;
    while (start < lines.length) {
      const lf = lines.indexOf(LF, start);
      const next = lf + 1;
      const contentEnd = lf > start && lines[lf - 1] === CR ? lf - 1 : lf;
      const line = canonicalLine(lines.subarray(start, contentEnd), contentEnd - start);
      if (line.length === 0) this.emptyLines++;
      else this.emit(line, true);
      start = next;
    }
  }

  /** Hashes the pending empty lines, then `bytes` (plus CRLF when it is one line's content). */
  private emit(bytes: Buffer, addCrlf: boolean): void {
    for (; this.emptyLines > 0; this.emptyLines--) this.hash.update(CRLF);
    this.hash.update(bytes);
    if (addCrlf) this.hash.update(CRLF);
  }
}

/** No TAB, no two spaces in a row, no space before CRLF: relaxed canonicalization changes nothing. */
function isCanonical(lines: Buffer): boolean {
  return lines.indexOf(TAB) < 0 && lines.indexOf('  ', 0, 'latin1') < 0 && lines.indexOf(' \r\n', 0, 'latin1') < 0;
}

/** One line's content (no line ending) with WSP runs folded to one SP and trailing WSP removed. */
function canonicalLine(src: Buffer, len: number): Buffer {
  let end = len;
  while (end > 0 && (src[end - 1] === SP || src[end - 1] === TAB)) end--;
  if (end === 0) return src.subarray(0, 0);
  let clean = true;
  for (let i = 0; i < end; i++) {
    const c = src[i];
    if (c === TAB || (c === SP && src[i + 1] === SP)) {
      clean = false;
      break;
    }
  }
  if (clean) return src.subarray(0, end);
  const out = Buffer.allocUnsafe(end);
  let n = 0;
  let inWsp = false;
  for (let i = 0; i < end; i++) {
    const c = src[i]!;
    if (c === SP || c === TAB) {
      inWsp = true;
      continue;
    }
    if (inWsp) {
      out[n++] = SP;
      inWsp = false;
    }
    out[n++] = c;
  }
  return out.subarray(0, n);
}
