// Incremental IMAP request receiver (after Stalwart's imap-proto receiver): bytes in,
// complete requests out, with every buffer capped. Pure: no I/O, no clock.
//
// A request is a line, or several lines joined by literals: a line ending in `{n}`
// (synchronising: the client waits for "+ " before sending n bytes), `{n+}` (LITERAL+,
// RFC 7888: the bytes follow at once) or `~{n}` (literal8, RFC 3516). When the last line
// (one not ending in a literal announcement) arrives, the parser turns the request into a
// `Request`.
//
// Safety rules this file exists for:
// - Bytes announced as a literal are always consumed as data, never run as a command,
//   even when the request is already known to be bad (a LITERAL+ literal smuggling a
//   command). Only a synchronising literal is refused before the client sends it
//   (RFC 3501 7.5: once the command has its tagged reply, the client must not send it).
// - Memory: one line ≤ maxLineBytes (longer lines are discarded as they arrive; only a
//   short tail is kept to spot a literal announcement at their end), APPEND's message
//   literal ≤ maxLiteralBytes, any other literal (a password, a search string) ≤
//   maxCommandLiteralBytes, one request ≤ maxRequestBytes and ≤ maxArgs literals. A rejected
//   LITERAL+ literal is counted down, not buffered.
// - A non-synchronising literal announced larger than `maxDiscardBytes` (default
//   2 × maxLiteralBytes) is a fatal error: the session says BYE instead of reading
//   gigabytes it will throw away. After a fatal error the receiver ignores all input.
// - NUL in a command line (outside literals) makes the request BAD (RFC 3501 9: CHAR8
//   excludes %x00).
//
// Pausing: a request that changes how the next bytes are read (IDLE and AUTHENTICATE are
// followed by raw lines, STARTTLS by a TLS handshake) is the last event of its push();
// bytes after it stay buffered. The session then calls expectRawLine() if it wants a raw
// line, and push() (with the next chunk, or an empty Buffer to drain what is buffered) to
// go on. After STARTTLS, `bufferedBytes > 0` means the client pipelined plaintext after
// the command: discard the receiver and start a new one on the TLS stream (the CVE-2011-0411
// class of injection).
import { parseRequest, readTag } from './parser.js';
import { literalMarkerAt } from './tokens.js';
import type { Request } from './types.js';

export interface ReceiverLimits {
  maxLineBytes: number;
  maxLiteralBytes: number;
  /** Literals of commands other than APPEND (default min(maxLiteralBytes, 1 MiB)). */
  maxCommandLiteralBytes?: number;
  /** Arguments per request: atoms, strings and literals (default 1000; sequence sets count as none). */
  maxArgs?: number;
  /** Lines plus literals of one request (default maxLiteralBytes + 4 × maxLineBytes). */
  maxRequestBytes?: number;
  /** A rejected LITERAL+ literal larger than this is fatal instead of skipped (default 2 × maxLiteralBytes). */
  maxDiscardBytes?: number;
}

export type ReceiverEvent =
  | { type: 'request'; request: Request }
  | { type: 'continue'; tag: string }
  | { type: 'line'; line: Buffer }
  | { type: 'error'; tag: string | null; code?: 'TOOBIG' | 'PARSE'; text: string; fatal: boolean };

/**
 * Requests after which the receiver pauses (see the header comment). ENABLE too: after
 * ENABLE UTF8=ACCEPT the next requests' mailbox names are read as UTF-8 (`utf8Names`).
 */
const PAUSE_AFTER = new Set(['IDLE', 'AUTHENTICATE', 'STARTTLS', 'ENABLE', 'COMPRESS']);

/** Bytes kept from the end of an overlong line: enough for `~{4294967295+}` and then some. */
const TAIL_BYTES = 32;

interface Pending {
  tag: string | null;
  lines: Buffer[];
  literals: Buffer[];
  bytes: number;
  /** Largest literal this command may carry (APPEND's message, or a string argument). */
  maxLiteral: number;
  error: { code: 'TOOBIG' | 'PARSE'; text: string } | null;
}

type Mode = 'line' | 'literal' | 'skip' | 'dead';

export class Receiver {
  private readonly maxArgs: number;
  private readonly maxRequestBytes: number;
  private readonly maxDiscardBytes: number;
  private readonly maxCommandLiteralBytes: number;

  private mode: Mode = 'line';
  // The line being read.
  private lineParts: Buffer[] = [];
  private lineLen = 0;
  private overlong = false;
  private head: Buffer | null = null; // start of an overlong line (for its tag)
  private tail: Buffer = Buffer.alloc(0); // end of an overlong line (for a literal announcement)
  // The request being assembled.
  private req: Pending | null = null;
  // The literal being read ('literal') or skipped ('skip').
  private litParts: Buffer[] = [];
  private litNeed = 0;
  private litGot = 0;
  private raw = false;
  private paused = false;
  private pendingInput: Buffer[] = [];
  /** UTF8=ACCEPT enabled (RFC 6855 3): parse mailbox names as UTF-8 from now on. */
  utf8Names = false;

  constructor(private readonly limits: ReceiverLimits) {
    this.maxArgs = limits.maxArgs ?? 1000;
    this.maxRequestBytes = limits.maxRequestBytes ?? limits.maxLiteralBytes + 4 * limits.maxLineBytes;
    this.maxDiscardBytes = limits.maxDiscardBytes ?? 2 * limits.maxLiteralBytes;
    this.maxCommandLiteralBytes = limits.maxCommandLiteralBytes ?? Math.min(limits.maxLiteralBytes, 1 << 20);
  }

  /** The next complete line is returned raw as `{ type: 'line' }` (IDLE's DONE, SASL responses), then back to commands. */
  expectRawLine(): void {
    this.raw = true;
    this.paused = false;
  }

  /** True after a request that pauses the receiver (IDLE, AUTHENTICATE, STARTTLS) until the next push() or expectRawLine(). */
  get isPaused(): boolean {
    return this.paused;
  }

  /** Bytes held: the partial line, literal and request, and input buffered while paused. */
  get bufferedBytes(): number {
    let n = this.lineLen + (this.mode === 'literal' ? this.litGot : 0) + (this.req?.bytes ?? 0) + this.tail.length + (this.head?.length ?? 0);
    for (const b of this.pendingInput) n += b.length;
    return n;
  }

  /**
   * Takes the input buffered after a pausing request: after COMPRESS (RFC 4978 3) those
   * bytes are already compressed (a client may send them in the same segment) and belong
   * to the inflater, not to this receiver.
   */
  takePending(): Buffer {
    const data = Buffer.concat(this.pendingInput);
    this.pendingInput = [];
    return data;
  }

  /** Feed bytes; returns the events they complete, in order. */
  push(chunk: Buffer): ReceiverEvent[] {
    const events: ReceiverEvent[] = [];
    if (this.mode === 'dead') return events;
    this.paused = false;
    let data = chunk;
    if (this.pendingInput.length > 0) {
      this.pendingInput.push(chunk);
      data = Buffer.concat(this.pendingInput);
      this.pendingInput = [];
    }
    let i = 0;
    while (i < data.length && !this.paused) {
      const mode = this.mode as Mode;
      if (mode === 'dead') break;
      if (mode === 'literal' || mode === 'skip') {
        const take = Math.min(this.litNeed - this.litGot, data.length - i);
        if (mode === 'literal') this.litParts.push(data.subarray(i, i + take));
        this.litGot += take;
        i += take;
        if (this.litGot === this.litNeed) this.literalDone();
        continue;
      }
      const lf = data.indexOf(0x0a, i);
      const end = lf < 0 ? data.length : lf;
      this.appendLine(data.subarray(i, end));
      if (lf < 0) break;
      i = lf + 1;
      this.lineDone(events);
    }
    if (this.paused && i < data.length) this.pendingInput.push(Buffer.from(data.subarray(i)));
    return events;
  }

  private appendLine(piece: Buffer): void {
    if (piece.length === 0) return;
    if (!this.overlong && this.lineLen + piece.length <= this.limits.maxLineBytes + 1) {
      // +1: the CR of CRLF is still part of the piece here.
      this.lineParts.push(piece);
      this.lineLen += piece.length;
      return;
    }
    if (!this.overlong) {
      // Keep only the first bytes (tag) and from now on only the last bytes (literal announcement).
      this.overlong = true;
      // 80 > the longest tag readTag() accepts, so a cut-off tag is not taken for a whole one.
      // The tail must also cover bytes before this piece: the line may end right after it.
      const all = Buffer.concat([...this.lineParts, piece]);
      this.head = Buffer.from(all.subarray(0, 80));
      this.tail = Buffer.from(all.subarray(Math.max(0, all.length - TAIL_BYTES)));
      this.lineParts = [];
      this.lineLen = 0;
      return;
    }
    const t = Buffer.concat([this.tail, piece.subarray(Math.max(0, piece.length - TAIL_BYTES))]);
    this.tail = Buffer.from(t.subarray(Math.max(0, t.length - TAIL_BYTES)));
  }

  private lineDone(events: ReceiverEvent[]): void {
    let line = this.overlong ? this.tail : Buffer.concat(this.lineParts, this.lineLen);
    if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    // The +1 slack in appendLine is for the CR; a bare-LF line gets no extra byte.
    const overlong = this.overlong || line.length > this.limits.maxLineBytes;
    const head = this.head ?? line;
    this.lineParts = [];
    this.lineLen = 0;
    this.overlong = false;
    this.head = null;
    this.tail = Buffer.alloc(0);

    if (this.raw && this.req === null) {
      this.raw = false;
      if (overlong) events.push({ type: 'error', tag: null, code: 'TOOBIG', text: 'Line too long', fatal: false });
      else events.push({ type: 'line', line });
      return;
    }
    // An empty line between commands is ignored, as Dovecot does.
    if (this.req === null && line.length === 0 && !overlong) return;

    if (this.req === null) {
      const first = overlong ? head : line;
      const tag = readTag(first);
      const append = tag !== null && /^ APPEND /i.test(first.toString('latin1', tag.length, tag.length + 8));
      const maxLiteral = append ? this.limits.maxLiteralBytes : this.maxCommandLiteralBytes;
      this.req = { tag, lines: [], literals: [], bytes: 0, maxLiteral, error: null };
    }
    const req = this.req;
    if (!req.error) {
      if (overlong) req.error = { code: 'TOOBIG', text: 'Command line too long' };
      else if (line.includes(0)) req.error = { code: 'PARSE', text: 'NUL in command line' };
      else if (req.tag === null) req.error = { code: 'PARSE', text: 'Invalid tag' };
      else if (req.bytes + line.length > this.maxRequestBytes) req.error = { code: 'TOOBIG', text: 'Command too long' };
      else {
        req.lines.push(line);
        req.bytes += line.length;
      }
    }

    const marker = literalMarkerAt(line);
    if (!marker && overlong && /[0-9]\+?\}$/.test(line.toString('latin1'))) {
      // An announcement whose digits (leading zeros, say) outran the kept tail: its size is
      // unknown, so its bytes cannot be skipped safely. End the connection instead.
      req.error = { code: 'TOOBIG', text: 'Literal too large' };
      this.emitError(events, true);
      this.mode = 'dead';
      return;
    }
    if (!marker) {
      this.finishRequest(events);
      return;
    }
    const n = marker.size;
    if (!req.error) {
      if (req.literals.length + 1 > this.maxArgs) req.error = { code: 'TOOBIG', text: 'Too many literals' };
      else if (n > req.maxLiteral) req.error = { code: 'TOOBIG', text: 'Literal too large' };
      else if (req.bytes + n > this.maxRequestBytes) req.error = { code: 'TOOBIG', text: 'Command too long' };
    }
    if (req.error) {
      // Nothing of a broken request is kept: only its structure is followed to its end.
      req.lines = [];
      req.literals = [];
      req.bytes = 0;
      if (marker.sync) {
        // The client waits for "+" and will not send the literal once the command is answered.
        this.emitError(events, false);
        return;
      }
      if (n > this.maxDiscardBytes) {
        this.emitError(events, true);
        this.mode = 'dead';
        return;
      }
      // LITERAL+: the bytes are already on their way; count them down as data (RFC 7888 4).
      this.startLiteral('skip', n);
      return;
    }
    if (marker.sync) events.push({ type: 'continue', tag: req.tag! });
    this.startLiteral('literal', n);
  }

  private startLiteral(mode: 'literal' | 'skip', n: number): void {
    this.mode = mode;
    this.litNeed = n;
    this.litGot = 0;
    this.litParts = [];
    if (n === 0) this.literalDone();
  }

  private literalDone(): void {
    if (this.mode === 'literal' && this.req) {
      this.req.literals.push(Buffer.concat(this.litParts, this.litGot));
      this.req.bytes += this.litGot;
    }
    this.litParts = [];
    this.litGot = 0;
    this.litNeed = 0;
    this.mode = 'line';
  }

  private emitError(events: ReceiverEvent[], fatal: boolean): void {
    const req = this.req!;
    const err = req.error!;
    events.push({ type: 'error', tag: req.tag, code: err.code, text: err.text, fatal });
    this.req = null;
  }

  private finishRequest(events: ReceiverEvent[]): void {
    const req = this.req!;
    if (req.error) {
      this.emitError(events, false);
      return;
    }
    this.req = null;
    const request = parseRequest({ lines: req.lines, literals: req.literals }, { maxArgs: this.maxArgs, utf8Names: this.utf8Names });
    events.push({ type: 'request', request });
    if (request.ok && PAUSE_AFTER.has(request.command.name)) this.paused = true;
  }
}
