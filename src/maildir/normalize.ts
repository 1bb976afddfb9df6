// Message bytes are stored with LF line ends, as Dovecot does with mail_save_crlf=no.
// The transform removes a CR that directly precedes LF (also across chunk boundaries)
// and counts the stored size (S=) and the CRLF size IMAP reports (W=, RFC822.SIZE):
// every LF not preceded by CR counts one extra byte.
export class LfNormalizer {
  size = 0;
  vsize = 0;
  private pendingCr = false;
  private prevWasCr = false;

  push(chunk: Buffer): Buffer {
    const out = Buffer.allocUnsafe(chunk.length + 1);
    let n = 0;
    let i = 0;
    if (this.pendingCr) {
      this.pendingCr = false;
      if (chunk.length > 0 && chunk[0] === 0x0a) {
        // CR LF split over two chunks: drop the CR.
      } else {
        out[n++] = 0x0d;
      }
    }
    for (; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === 0x0d) {
        if (i + 1 === chunk.length) {
          this.pendingCr = true;
          continue;
        }
        if (chunk[i + 1] === 0x0a) continue;
      }
      out[n++] = b;
    }
    const result = out.subarray(0, n);
    this.count(result);
    return result;
  }

  /** Any CR held back at the very end of the message. */
  end(): Buffer {
    if (!this.pendingCr) return Buffer.alloc(0);
    this.pendingCr = false;
    const b = Buffer.from([0x0d]);
    this.count(b);
    return b;
  }

  private count(buf: Buffer): void {
    this.size += buf.length;
    this.vsize += buf.length;
    for (const b of buf) {
      if (b === 0x0a && !this.prevWasCr) this.vsize++;
      this.prevWasCr = b === 0x0d;
    }
  }
}
