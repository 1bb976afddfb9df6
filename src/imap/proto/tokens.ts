// Lexical layer of the IMAP grammar (RFC 3501 section 9): a cursor over one request's
// line pieces and literals. Pure. The grammar is context sensitive (sequence sets, FETCH
// sections, LIST wildcards), so the command parsers pull tokens on demand instead of
// reading a pre-split token array.
//
// A request as the receiver hands it over: `lines[i]` (i < literals.length) ends with a
// literal announcement `{n}`, `{n+}` or `~{n}` and `literals[i]` holds its bytes; the
// text after the literal continues in `lines[i + 1]`. Lines carry no CRLF.

/** Syntax error in a request; its message is the text of the BAD reply. */
export class ParseError extends Error {}

export interface RawRequest {
  lines: Buffer[];
  literals: Buffer[];
}

/** Largest number IMAP allows (RFC 3501 9: number = 1*DIGIT, unsigned 32-bit). */
export const MAX_NUMBER = 4294967295;

const SP = 0x20;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

/** RFC 3501 9 ATOM-CHAR: any 7-bit CHAR except atom-specials ( ) { SP CTL % * " \ ]. */
export function isAtomChar(c: number): boolean {
  if (c <= 0x20 || c >= 0x7f) return false;
  return !(c === 0x28 || c === 0x29 || c === 0x7b || c === 0x25 || c === 0x2a || c === DQUOTE || c === BACKSLASH || c === 0x5d);
}

/** ASTRING-CHAR = ATOM-CHAR / resp-specials (`]`). */
export function isAstringChar(c: number): boolean {
  return c === 0x5d || isAtomChar(c);
}

/** list-char = ATOM-CHAR / list-wildcards / resp-specials (LIST patterns). */
export function isListChar(c: number): boolean {
  return c === 0x25 || c === 0x2a || isAstringChar(c);
}

/** tag = 1*<any ASTRING-CHAR except "+"> */
export function isTagChar(c: number): boolean {
  return c !== 0x2b && isAstringChar(c);
}

export interface LiteralMarker {
  size: number; // Infinity when the digits overflow
  sync: boolean; // `{n}` waits for a continuation; `{n+}` (LITERAL+, RFC 7888) does not
  binary: boolean; // `~{n}` literal8 (RFC 3516)
  start: number; // offset of `{` or `~` in the line
}

/** The literal announcement at the very end of a line, if any. */
export function literalMarkerAt(line: Buffer): LiteralMarker | null {
  let i = line.length - 1;
  if (i < 2 || line[i] !== 0x7d) return null;
  i--;
  let sync = true;
  if (line[i] === 0x2b) {
    sync = false;
    i--;
  }
  const digitsEnd = i + 1;
  while (i >= 0 && line[i]! >= 0x30 && line[i]! <= 0x39) i--;
  if (i + 1 === digitsEnd || i < 0 || line[i] !== 0x7b) return null;
  const digits = line.toString('latin1', i + 1, digitsEnd).replace(/^0+(?=\d)/, '');
  const size = digits.length > 15 ? Infinity : Number(digits);
  let start = i;
  const binary = i > 0 && line[i - 1] === 0x7e;
  if (binary) start--;
  return { size, sync, binary, start };
}

export class Cursor {
  private seg = 0;
  pos = 0;

  private args = 0;

  /** `maxArgs`: atoms, strings and literals one request may hold (sequence sets and numbers are not counted). */
  constructor(
    private readonly raw: RawRequest,
    private readonly maxArgs = Infinity,
  ) {}

  /** Count one argument against maxArgs (the imap.maxArgs setting). */
  counted(): void {
    if (++this.args > this.maxArgs) this.fail('Too many arguments');
  }

  private get line(): Buffer {
    return this.raw.lines[this.seg]!;
  }

  /** Byte at the cursor, or -1 at the end of the current line piece. */
  peek(): number {
    return this.pos < this.line.length ? this.line[this.pos]! : -1;
  }

  /** True once every line piece and literal has been read. */
  atEnd(): boolean {
    return this.pos >= this.line.length && this.seg === this.raw.lines.length - 1;
  }

  fail(text: string): never {
    throw new ParseError(text);
  }

  /** Exactly one SP (RFC 3501 9 separates every argument by one SP). */
  sp(): void {
    if (this.peek() !== SP) {
      this.fail(this.atEnd() ? 'Missing argument' : 'Expected a single space between arguments');
    }
    this.pos++;
  }

  /** Consume one SP if there is one. */
  maybeSp(): boolean {
    if (this.peek() !== SP) return false;
    this.pos++;
    return true;
  }

  /** Consume `c` if it is next. */
  eat(c: number): boolean {
    if (this.peek() !== c) return false;
    this.pos++;
    return true;
  }

  expect(c: number, what: string): void {
    if (!this.eat(c)) this.fail(`Expected ${what}`);
  }

  /** The command is complete: nothing may follow. */
  end(): void {
    if (!this.atEnd()) this.fail('Unexpected extra arguments');
  }

  /** 1+ bytes accepted by `pred`, as latin1 text (the predicates only pass 7-bit bytes). */
  take(pred: (c: number) => boolean): string {
    const start = this.pos;
    const line = this.line;
    while (this.pos < line.length && pred(line[this.pos]!)) this.pos++;
    return line.toString('latin1', start, this.pos);
  }

  atom(what = 'an atom'): string {
    this.counted();
    const a = this.take(isAtomChar);
    if (a === '') this.fail(`Expected ${what}`);
    return a;
  }

  /** An atom compared case-insensitively (keywords, command names): upper-cased. */
  keyword(what = 'a keyword'): string {
    return this.atom(what).toUpperCase();
  }

  isLiteralStart(): boolean {
    const c = this.peek();
    return c === 0x7b || (c === 0x7e && this.line[this.pos + 1] === 0x7b);
  }

  /**
   * A literal at the cursor. The receiver only splits lines at an announcement that ends a
   * line, so one found anywhere else is a syntax error, never a request for more data.
   */
  literal(allowBinary = false): Buffer {
    this.counted();
    const marker = literalMarkerAt(this.line);
    if (!marker || marker.start !== this.pos || this.seg >= this.raw.literals.length) {
      this.fail('Invalid literal');
    }
    if (marker.binary && !allowBinary) this.fail('literal8 is not allowed here');
    const data = this.raw.literals[this.seg]!;
    this.seg++;
    this.pos = 0;
    return data;
  }

  /** quoted = DQUOTE *QUOTED-CHAR DQUOTE, with `\"` and `\\` the only escapes. */
  quoted(): Buffer {
    this.counted();
    this.expect(DQUOTE, 'a quoted string');
    const line = this.line;
    const start = this.pos;
    let escaped = false;
    let i = start;
    for (; i < line.length; i++) {
      const c = line[i]!;
      if (c === DQUOTE) break;
      if (c === BACKSLASH) {
        escaped = true;
        const n = line[i + 1];
        if (n !== DQUOTE && n !== BACKSLASH) this.fail('Invalid escape in quoted string');
        i++;
      }
    }
    if (i >= line.length) this.fail('Unterminated quoted string');
    this.pos = i + 1;
    if (!escaped) return line.subarray(start, i);
    const out: number[] = [];
    for (let j = start; j < i; j++) {
      if (line[j] === BACKSLASH) j++;
      out.push(line[j]!);
    }
    return Buffer.from(out);
  }

  /** string = quoted / literal */
  string(what = 'a string'): Buffer {
    if (this.peek() === DQUOTE) return this.quoted();
    if (this.isLiteralStart()) return this.literal();
    return this.fail(`Expected ${what}`);
  }

  /** astring = 1*ASTRING-CHAR / string */
  astring(what = 'a string'): Buffer {
    const c = this.peek();
    if (c === DQUOTE || this.isLiteralStart()) return this.string(what);
    const start = this.pos;
    this.counted();
    const a = this.take(isAstringChar);
    if (a === '') this.fail(`Expected ${what}`);
    return this.line.subarray(start, this.pos);
  }

  /** nstring = string / NIL; null for NIL. */
  nstring(what = 'a string or NIL'): Buffer | null {
    const c = this.peek();
    if (c === DQUOTE || this.isLiteralStart()) return this.string(what);
    this.counted();
    const a = this.take(isAtomChar);
    if (a.toUpperCase() !== 'NIL') this.fail(`Expected ${what}`);
    return null;
  }

  /** number, 0..4294967295 (RFC 3501 9). */
  number(what = 'a number'): number {
    const d = this.take((c) => c >= 0x30 && c <= 0x39);
    if (d === '') this.fail(`Expected ${what}`);
    const n = d.length > 10 ? Infinity : Number(d);
    if (n > MAX_NUMBER) this.fail(`Number out of range: ${d.length > 20 ? d.slice(0, 20) + '...' : d}`);
    return n;
  }

  /** nz-number: 1..4294967295. */
  nzNumber(what = 'a non-zero number'): number {
    const n = this.number(what);
    if (n === 0) this.fail(`Expected ${what}, got 0`);
    return n;
  }

  /** Parenthesised, SP-separated list of 1+ items (0 when `allowEmpty`). */
  list<T>(item: () => T, allowEmpty = false, what = 'a parenthesised list'): T[] {
    this.expect(0x28, what);
    const out: T[] = [];
    if (this.eat(0x29)) {
      if (!allowEmpty) this.fail(`Expected at least one item in ${what}`);
      return out;
    }
    for (;;) {
      out.push(item());
      if (this.eat(0x29)) return out;
      this.sp();
    }
  }
}

/** Client text echoed in a BAD reply, cut short (the atoms it comes from carry no CR/LF). */
export function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}...` : s;
}

/** Bytes of a string argument as UTF-8 text (RFC 3501 strings are 7-bit; UTF-8 is what clients send). */
export function utf8(b: Buffer): string {
  return b.toString('utf8');
}
