// Incremental line receiver for POP3: bytes in, complete lines out. Pure (no I/O).
// RFC 1939 3: commands end in CRLF; a bare LF is accepted too (robustness). RFC 2449 4
// caps a command at 255 octets; we allow a configurable maximum because SASL responses
// (RFC 5034 4) may be longer. An overlong line is reported once and then skipped up to its
// end, so the session answers -ERR and carries on in step with the client.

export type ReceivedLine = { kind: 'line'; text: string } | { kind: 'overlong'; bytes: number };

export class LineReceiver {
  private parts: Buffer[] = [];
  private pending = 0;
  private discarding = false;
  private discarded = 0;

  constructor(private readonly maxLineBytes: number) {}

  /** Bytes buffered for an unfinished line. */
  get buffered(): number {
    return this.pending;
  }

  /** Forgets everything buffered (STLS: plaintext pipelined before the upgrade is dropped, RFC 2595 4). */
  reset(): void {
    this.parts = [];
    this.pending = 0;
    this.discarding = false;
    this.discarded = 0;
  }

  push(chunk: Buffer): ReceivedLine[] {
    const out: ReceivedLine[] = [];
    let start = 0;
    while (start < chunk.length) {
      const lf = chunk.indexOf(0x0a, start);
      const end = lf < 0 ? chunk.length : lf;
      if (this.discarding) {
        this.discarded += end - start;
        if (lf >= 0) {
          out.push({ kind: 'overlong', bytes: this.discarded });
          this.discarding = false;
          this.discarded = 0;
        }
      } else if (this.pending + (end - start) > this.maxLineBytes + 1) {
        // +1: room for the CR of CRLF, which does not count against the limit.
        this.discarded = this.pending + (end - start);
        this.parts = [];
        this.pending = 0;
        if (lf >= 0) {
          out.push({ kind: 'overlong', bytes: this.discarded });
          this.discarded = 0;
        } else {
          this.discarding = true;
        }
      } else if (lf >= 0) {
        out.push(this.take(chunk.subarray(start, end)));
      } else {
        this.parts.push(Buffer.from(chunk.subarray(start, end)));
        this.pending += end - start;
      }
      if (lf < 0) break;
      start = lf + 1;
    }
    return out;
  }

  private take(tail: Buffer): ReceivedLine {
    const whole = this.parts.length ? Buffer.concat([...this.parts, tail]) : tail;
    this.parts = [];
    this.pending = 0;
    const n = whole.length > 0 && whole[whole.length - 1] === 0x0d ? whole.length - 1 : whole.length;
    if (n > this.maxLineBytes) return { kind: 'overlong', bytes: whole.length };
    return { kind: 'line', text: whole.subarray(0, n).toString('utf8') };
  }
}
