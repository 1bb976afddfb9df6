// RETR/TOP body encoder: the stored message (LF line ends, as the store keeps them; CRLF
// accepted too) in, POP3 multi-line data out. Pure and incremental, so a message is
// streamed chunk by chunk and never held whole.
// RFC 1939 3: lines end in CRLF; a line starting with "." gets one more "." (byte-stuffing);
// the terminating ".\r\n" is the caller's. RFC 1939 7 (TOP): the header, the blank line,
// then at most `bodyLines` lines of the body.

export class MultilineEncoder {
  private lineStart = true;
  /** The last byte seen was CR (a CRLF may be split across chunks). */
  private lastCr = false;
  /** Bytes of the current line so far (0 at line start), to spot the empty header/body separator. */
  private lineLen = 0;
  private inBody = false;
  private bodyLinesLeft: number;
  private finished = false;

  /** `bodyLines`: TOP's line count; undefined = the whole message (RETR). */
  constructor(bodyLines?: number) {
    this.bodyLinesLeft = bodyLines ?? Infinity;
  }

  /** True once TOP has emitted all it needs: the caller can stop reading. */
  get done(): boolean {
    return this.finished;
  }

  push(chunk: Buffer): Buffer {
    if (this.finished) return Buffer.alloc(0);
    const out: Buffer[] = [];
    let p = 0;
    while (p < chunk.length) {
      if (this.lineStart) {
        if (this.inBody && this.bodyLinesLeft <= 0) {
          this.finished = true;
          break;
        }
        if (chunk[p] === 0x2e) out.push(DOT);
        this.lineStart = false;
      }
      const lf = chunk.indexOf(0x0a, p);
      if (lf < 0) {
        out.push(chunk.subarray(p));
        this.lineLen += chunk.length - p;
        this.lastCr = chunk[chunk.length - 1] === 0x0d;
        break;
      }
      const seg = chunk.subarray(p, lf);
      // Was this line's last byte a CR (in this chunk, or at the end of the previous one)?
      const endsWithCr = seg.length > 0 ? seg[seg.length - 1] === 0x0d : this.lastCr;
      const contentLen = this.lineLen + seg.length - (endsWithCr ? 1 : 0);
      if (endsWithCr) {
        out.push(chunk.subarray(p, lf + 1));
      } else {
        out.push(seg, CRLF);
      }
      this.endLine(contentLen);
      p = lf + 1;
    }
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  /** Call at end of input: closes an unterminated last line. */
  end(): Buffer {
    if (this.finished || this.lineStart) return Buffer.alloc(0);
    this.finished = true;
    // A trailing CR without LF: complete it rather than emit a bare CR.
    return this.lastCr ? LF : CRLF;
  }

  private endLine(contentLen: number): void {
    if (this.inBody) this.bodyLinesLeft--;
    else if (contentLen === 0) this.inBody = true;
    this.lineStart = true;
    this.lastCr = false;
    this.lineLen = 0;
    if (this.inBody && this.bodyLinesLeft <= 0) this.finished = true;
  }
}

const DOT = Buffer.from('.');
const CRLF = Buffer.from('\r\n');
const LF = Buffer.from('\n');
