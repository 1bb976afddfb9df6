// Response writer: ImapValue trees → wire chunks (RFC 3501 4, 7). Pure.
// Strings are quoted when that is safe and short, otherwise sent as literals; `stream`
// values become a `{n}\r\n` prefix followed by a chunk the session pipes from the store.
// Response text (after OK/NO/BAD) is stripped of CR, LF and NUL so no reply can be split
// into two by data that ends up in it.
import { encodeMutf7 } from '../../maildir/utf7.js';
import type { ImapValue, WireChunk } from './values.js';

export interface SerializeOptions {
  /** UTF8=ACCEPT enabled (RFC 6855 3): valid UTF-8 may go in quoted strings. */
  utf8?: boolean;
}

/** Strings longer than this are sent as literals (clients' line buffers; Dovecot does the same). */
const MAX_QUOTED = 1024;

// Constructors, so handlers read `list([atom('FLAGS'), ...])` instead of object literals.
export const atom = (v: string): ImapValue => ({ t: 'atom', v });
export const str = (v: string | Buffer): ImapValue => ({ t: 'string', v });
export const num = (v: number | bigint): ImapValue => ({ t: 'number', v });
export const nil: ImapValue = { t: 'nil' };
export const list = (v: ImapValue[]): ImapValue => ({ t: 'list', v });
export const literal = (v: Buffer): ImapValue => ({ t: 'literal', v });
export const raw = (v: string): ImapValue => ({ t: 'raw', v });
/** nstring: NIL for null/undefined. */
export const nstr = (v: string | Buffer | null | undefined): ImapValue => (v == null ? nil : str(v));

/** A mailbox name for a response: modified UTF-7 (RFC 3501 5.1.3), quoted or literal as needed. */
export function mailbox(name: string): ImapValue {
  return str(encodeMailboxName(name));
}

export function encodeMailboxName(name: string): string {
  return encodeMutf7(name);
}

class Writer {
  chunks: WireChunk[] = [];
  private parts: Buffer[] = [];
  /** Text not yet turned into bytes: one Buffer per run of text, not per token (a FETCH
   *  response of 20 tokens made 40 tiny Buffers, the largest cost of FETCH 1:*). */
  private pending = '';

  text(s: string): void {
    this.pending += s;
  }

  bytes(b: Buffer): void {
    this.flushText();
    this.parts.push(b);
  }

  private flushText(): void {
    if (this.pending === '') return;
    this.parts.push(Buffer.from(this.pending, 'latin1'));
    this.pending = '';
  }

  stream(c: Exclude<WireChunk, Buffer>): void {
    this.flush();
    this.chunks.push(c);
  }

  flush(): void {
    this.flushText();
    if (this.parts.length === 0) return;
    this.chunks.push(this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts));
    this.parts = [];
  }
}

function assertNoBreak(s: string, what: string): void {
  if (/[\r\n\0]/.test(s)) throw new TypeError(`${what} must not contain CR, LF or NUL`);
}

/** Can these bytes be a quoted string? (RFC 3501 9: QUOTED-CHAR is 7-bit TEXT-CHAR; RFC 6855 adds UTF-8.) */
function quotable(b: Buffer, utf8: boolean): boolean {
  if (b.length > MAX_QUOTED) return false;
  let high = false;
  for (const c of b) {
    // Other control characters are legal in quoted strings but trip clients up: literal.
    if (c < 0x20 || c === 0x7f) return false;
    if (c >= 0x80) high = true;
  }
  if (!high) return true;
  if (!utf8) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

const ASCII = /^[\x00-\x7f]*$/;
/** Printable ASCII: quotable as is whatever UTF8=ACCEPT says (quotable() below). */
const PRINTABLE = /^[\x20-\x7e]*$/;

function writeString(w: Writer, v: string | Buffer, opts: SerializeOptions): void {
  if (typeof v === 'string' && v.length <= MAX_QUOTED && PRINTABLE.test(v)) {
    // The common case (INTERNALDATE, names) without a Buffer; quoted-specials escaped.
    w.text(`"${v.replace(/["\\]/g, '\\$&')}"`);
    return;
  }
  const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
  if (quotable(b, opts.utf8 === true)) {
    w.text('"');
    // Escape quoted-specials (RFC 3501 9): `"` and `\`.
    let start = 0;
    for (let i = 0; i < b.length; i++) {
      const c = b[i]!;
      if (c === 0x22 || c === 0x5c) {
        w.bytes(b.subarray(start, i));
        w.text('\\');
        start = i;
      }
    }
    w.bytes(b.subarray(start));
    w.text('"');
    return;
  }
  w.text(`{${b.length}}\r\n`);
  w.bytes(b);
}

function writeValue(w: Writer, v: ImapValue, opts: SerializeOptions): void {
  switch (v.t) {
    case 'atom':
      if (v.v === '' || /[\s\0()"{]/.test(v.v)) throw new TypeError(`invalid atom ${JSON.stringify(v.v)}`);
      w.text(v.v);
      return;
    case 'raw':
      assertNoBreak(v.v, 'raw value');
      // Pre-serialized ENVELOPE/BODYSTRUCTURE are ASCII: latin1 text is the same bytes.
      if (ASCII.test(v.v)) w.text(v.v);
      else w.bytes(Buffer.from(v.v, 'utf8'));
      return;
    case 'string':
      writeString(w, v.v, opts);
      return;
    case 'literal':
      // literal8 (RFC 3516 4.3): the only way to send NUL, for BINARY content.
      w.text(`${v.binary ? '~' : ''}{${v.v.length}}\r\n`);
      w.bytes(v.v);
      return;
    case 'stream':
      w.text(`${v.binary ? '~' : ''}{${v.length}}\r\n`);
      w.stream({ length: v.length, open: v.open });
      return;
    case 'number': {
      const n = v.v;
      if (typeof n === 'number' ? !Number.isSafeInteger(n) || n < 0 : n < 0n) throw new TypeError(`invalid number ${n}`);
      w.text(String(n));
      return;
    }
    case 'nil':
      w.text('NIL');
      return;
    case 'list':
      w.text('(');
      writeValues(w, v.v, opts);
      w.text(')');
      return;
  }
}

function writeValues(w: Writer, values: ImapValue[], opts: SerializeOptions): void {
  values.forEach((v, i) => {
    if (i > 0) w.text(' ');
    writeValue(w, v, opts);
  });
}

/** Values separated by single spaces (no line end). Bytes are merged into as few Buffers as possible. */
export function serialize(values: ImapValue[], opts: SerializeOptions = {}): WireChunk[] {
  const w = new Writer();
  writeValues(w, values, opts);
  w.flush();
  return w.chunks;
}

/** `* <values>\r\n`, e.g. untagged([num(3), atom('EXISTS')]). */
export function untagged(values: ImapValue[], opts: SerializeOptions = {}): WireChunk[] {
  const w = new Writer();
  w.text('* ');
  writeValues(w, values, opts);
  w.text('\r\n');
  w.flush();
  return w.chunks;
}

export type Status = 'OK' | 'NO' | 'BAD';

/** Response text: one line, no CR/LF/NUL (they are replaced by spaces). */
function cleanText(text: string): string {
  return text.replace(/[\r\n\0]+/g, ' ');
}

function statusLine(prefix: string, status: string, code: string | null | undefined, text: string): Buffer {
  const c = code ? `[${cleanText(code)}] ` : '';
  // RFC 3501 9: resp-text = ["[" resp-text-code "]" SP] text, and text is 1*TEXT-CHAR.
  return Buffer.from(`${prefix} ${status} ${c}${cleanText(text) || status}\r\n`, 'utf8');
}

/**
 * `<tag> OK|NO|BAD [code] text\r\n`; a null tag gives an untagged `* BAD ...` (a line whose
 * tag could not be read). Call as tagged(tag, 'OK', text) or tagged(tag, 'NO', 'TRYCREATE', text).
 */
export function tagged(tag: string | null, status: Status, text: string): Buffer;
export function tagged(tag: string | null, status: Status, code: string | null | undefined, text: string): Buffer;
export function tagged(tag: string | null, status: Status, a: string | null | undefined, b?: string): Buffer {
  const [code, text] = b === undefined ? [undefined, a ?? ''] : [a, b];
  return statusLine(tag ?? '*', status, code, text);
}

/** `* OK|NO|BAD|BYE|PREAUTH [code] text\r\n` */
export function untaggedStatus(status: Status | 'BYE' | 'PREAUTH', code: string | null | undefined, text: string): Buffer {
  return statusLine('*', status, code, text);
}

/** `+ text\r\n` (RFC 3501 7.5), or `+ <base64>` for a SASL challenge. */
export function continuation(text = 'Ready for literal data'): Buffer {
  return Buffer.from(`+ ${cleanText(text)}\r\n`, 'utf8');
}
