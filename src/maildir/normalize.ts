// Message bytes are stored with LF line ends, as Dovecot does with mail_save_crlf=no.
// The transform removes a CR that directly precedes LF (also across chunk boundaries)
// and counts the stored size (S=) and the CRLF size IMAP reports (W=, RFC822.SIZE):
// every LF not preceded by CR counts one extra byte.
export class LfNormalizer {
  size = 0;
  vsize = 0;
  private pendingCr = false;
  private lastWasCr = false;

  // Scans with Buffer.indexOf (native memchr) rather than a per-byte JS loop: this runs
  // over every byte of every delivered message.
  push(chunk: Buffer): Buffer {
    const parts: Buffer[] = [];
    let start = 0;
    if (this.pendingCr) {
      this.pendingCr = false;
      // CR LF split over two chunks: drop the CR; a lone CR is content.
      if (chunk.length === 0 || chunk[0] !== 0x0a) parts.push(CR);
    }
    let i: number;
    while ((i = chunk.indexOf(CRLF, start)) !== -1) {
      parts.push(chunk.subarray(start, i));
      start = i + 1; // keep the LF, drop the CR
    }
    let end = chunk.length;
    if (end > start && chunk[end - 1] === 0x0d) {
      this.pendingCr = true; // may be the first half of a CRLF
      end--;
    }
    parts.push(chunk.subarray(start, end));
    const result = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    this.count(result);
    return result;
  }

  /** Any CR held back at the very end of the message. */
  end(): Buffer {
    if (!this.pendingCr) return Buffer.alloc(0);
    this.pendingCr = false;
    this.count(CR);
    return CR;
  }

  // Every LF not already preceded by CR costs one byte more in the CRLF size. Output can
  // still hold CR LF where the input had CR CR LF, and that CR may end the previous chunk.
  private count(buf: Buffer): void {
    this.size += buf.length;
    this.vsize += buf.length;
    let j = -1;
    while ((j = buf.indexOf(0x0a, j + 1)) !== -1) {
      const before = j > 0 ? buf[j - 1] === 0x0d : this.lastWasCr;
      if (!before) this.vsize++;
    }
    if (buf.length > 0) this.lastWasCr = buf[buf.length - 1] === 0x0d;
  }
}

const CR = Buffer.from([0x0d]);
const CRLF = Buffer.from([0x0d, 0x0a]);
