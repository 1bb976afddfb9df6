// RFC 5322 3.4 address lists as IMAP's ENVELOPE wants them (RFC 3501 7.4.2): raw
// (undecoded) strings, groups as start/end markers, the obsolete source route in adl.
// Broken input is never rejected; it is recovered from the way Dovecot's
// message-address.c does (the answers clients migrated from Dovecot have cached):
// - a bare word without "@" is a mailbox without domain (host "MISSING_DOMAIN");
//   several words without "<" are a display name (mailbox "MISSING_MAILBOX");
// - a comment after a bare addr-spec becomes the name;
// - an angle address that does not end in ">" gets the host "SYNTAX_ERROR";
// - the list ends at the first address not followed by "," (the rest is garbage);
// - an empty element (",,") is an address with both parts missing.
import type { EnvelopeAddress } from './types.js';

const isAtext = (c: number): boolean =>
  (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c >= 0x80 || "!#$%&'*+-/=?^_`{|}~".includes(String.fromCharCode(c));

class Parser {
  i = 0;
  lastComment = '';
  constructor(readonly s: string) {}
  get end(): boolean {
    return this.i >= this.s.length;
  }
  /** Current char code (a method, not a getter: it changes as the parser moves). */
  ch(): number {
    return this.s.charCodeAt(this.i);
  }
  /** CFWS: 1 more input, 0 end of input, -1 unterminated comment. */
  skipLwsp(): number {
    while (this.i < this.s.length) {
      const ch = this.s[this.i]!;
      if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n') this.i++;
      else if (ch === '(') {
        let depth = 0;
        let text = '';
        let flushed = ''; // what Dovecot's comment parser has appended when input ends early
        for (; this.i < this.s.length; this.i++) {
          const d = this.s[this.i]!;
          if (d === '\\' && this.i + 1 < this.s.length) {
            flushed = text;
            text += this.s[++this.i];
            continue;
          }
          if (d === '(') {
            if (depth++ > 0) text += d;
          } else if (d === ')') {
            if (--depth === 0) break;
            text += d;
          } else text += d;
        }
        if (depth > 0) {
          this.lastComment = flushed;
          return -1;
        }
        this.i++;
        this.lastComment = text.trim();
      } else return 1;
    }
    return 0;
  }
  /** atom (with dots when `dots`), then CFWS. */
  atom(out: string[], dots: boolean): number {
    const start = this.i;
    while (!this.end && (isAtext(this.ch()) || (dots && this.ch() === 0x2e))) this.i++;
    if (this.i === start) return -1;
    out.push(this.s.slice(start, this.i));
    return this.skipLwsp();
  }
  quoted(out: string[]): number {
    let v = '';
    this.i++; // opening quote
    for (; this.i < this.s.length; this.i++) {
      const ch = this.s[this.i]!;
      if (ch === '\\' && this.i + 1 < this.s.length) v += this.s[++this.i];
      else if (ch === '"') break;
      else if (ch !== '\r' && ch !== '\n') v += ch;
    }
    if (this.end) return -1;
    this.i++;
    out.push(v);
    return this.skipLwsp();
  }
  /** phrase = word *(word / "." / CFWS); words joined with one space (Dovecot's
   *  rfc822_parse_phrase: an empty phrase succeeds before a non-word character).
   *  1 more input, 0 end, -1 broken. */
  phrase(out: string[]): number {
    if (this.end) return 0;
    if (this.ch() === 0x2e) return -1;
    for (;;) {
      let ret: number;
      if (this.ch() === 0x22) ret = this.quoted(out);
      else {
        const start = this.i;
        while (!this.end && (isAtext(this.ch()) || this.ch() === 0x2e)) this.i++;
        if (this.i > start) out.push(this.s.slice(start, this.i));
        ret = this.end ? 0 : this.skipLwsp();
      }
      if (ret <= 0) return ret;
      if (!isAtext(this.ch()) && this.ch() !== 0x22 && this.ch() !== 0x2e) return 1;
    }
  }
  /** dot-atom: atom *("." atom), CFWS allowed around dots. */
  dotAtom(): { v: string; ret: number } | null {
    if (this.end || !isAtext(this.ch())) return null;
    let v = '';
    for (;;) {
      const start = this.i;
      while (!this.end && isAtext(this.ch())) this.i++;
      if (this.i === start) return null; // "." not followed by an atom
      v += this.s.slice(start, this.i);
      const r = this.skipLwsp();
      if (r <= 0) return { v, ret: r };
      if (this.ch() !== 0x2e) return { v, ret: 1 };
      this.i++;
      v += '.';
      if (this.skipLwsp() <= 0) return null;
    }
  }
}

interface Addr {
  name: string | null;
  adl: string | null;
  mailbox: string | null;
  host: string | null;
}

function localPart(p: Parser, a: Addr): number {
  if (!p.end && p.ch() === 0x22) {
    const out: string[] = [];
    const r = p.quoted(out);
    if (r < 0) return -1;
    a.mailbox = quoteLocal(out[0]!);
    return r;
  }
  const d = p.dotAtom();
  if (!d || d.ret < 0) return -1;
  a.mailbox = d.v;
  return d.ret;
}

function domain(p: Parser, a: Addr): number {
  p.i++; // '@'
  if (p.skipLwsp() <= 0) return -1;
  if (p.ch() === 0x5b) {
    const close = p.s.indexOf(']', p.i);
    if (close < 0) return -1;
    a.host = p.s.slice(p.i, close + 1);
    p.i = close + 1;
    return p.skipLwsp();
  }
  const d = p.dotAtom();
  if (!d || d.ret < 0) return -1;
  a.host = d.v;
  return d.ret;
}

function angleAddr(p: Parser, a: Addr): number {
  // "<" [ "@" route ":" ] local-part "@" domain ">" (the "<" already read)
  if (p.skipLwsp() <= 0) return -1;
  if (p.ch() === 0x40) {
    // Obsolete route (RFC 5322 4.4): "@a,@b:" goes to adl.
    const route: string[] = [];
    while (!p.end && p.ch() === 0x40) {
      const d: Addr = { name: null, adl: null, mailbox: null, host: null };
      if (domain(p, d) <= 0) break;
      route.push('@' + d.host);
      while (!p.end && p.ch() === 0x2c) {
        p.i++;
        if (p.skipLwsp() <= 0) break;
      }
    }
    if (p.end || p.ch() !== 0x3a || route.length === 0) {
      a.adl = 'INVALID_ROUTE';
      return -1;
    }
    a.adl = route.join(',');
    p.i++;
    if (p.skipLwsp() <= 0) return -1;
  }
  if (p.ch() === 0x3e) {
    // "<>": the null address.
    p.i++;
    return p.skipLwsp();
  }
  // Running out of input before ">" is a syntax error too (Dovecot 2.3.19 answers so).
  if (localPart(p, a) <= 0) return -1;
  if (p.ch() === 0x40 && domain(p, a) <= 0) return -1;
  if (p.ch() !== 0x3e) return -1;
  p.i++;
  return p.skipLwsp();
}

function addrSpec(p: Parser, a: Addr): number {
  p.lastComment = '';
  const quotedLocal = !p.end && p.ch() === 0x22;
  let ret = localPart(p, a);
  let ret2 = -2;
  if (ret !== 0 && !p.end && p.ch() === 0x40) {
    ret2 = domain(p, a);
    if (ret2 <= 0) ret = ret2;
  }
  if (p.lastComment) a.name = p.lastComment;
  else if (ret2 === -2) {
    // A word without "@": one word is a mailbox, more are a display name.
    const words: string[] = [];
    p.phrase(words);
    if (words.length > 0) {
      a.name = [a.mailbox ?? '', ...words].join(' ');
      a.mailbox = null;
    } else if (!quotedLocal) a.host = '';
    ret = -1;
  }
  return ret;
}

function mailbox(p: Parser, out: EnvelopeAddress[]): number {
  const start = p.i;
  const a: Addr = { name: null, adl: null, mailbox: null, host: null };
  const words: string[] = [];
  let ret: number;
  if (p.phrase(words) > 0 && p.ch() === 0x3c) {
    // name-addr; a broken angle address is kept with host SYNTAX_ERROR and the list goes on
    a.name = words.length ? words.join(' ') : null;
    p.i++;
    if (angleAddr(p, a) < 0) a.host = 'SYNTAX_ERROR';
    ret = p.end ? 0 : 1;
  } else {
    p.i = start;
    ret = addrSpec(p, a);
  }
  out.push(fixed(a));
  return ret;
}

function fixed(a: Addr): EnvelopeAddress {
  return { name: a.name, adl: a.adl, mailbox: a.mailbox || 'MISSING_MAILBOX', host: a.host || 'MISSING_DOMAIN' };
}

/** group = display-name ":" [mailbox-list] ";" — -1 when this is not a group. */
function group(p: Parser, out: EnvelopeAddress[]): number {
  const words: string[] = [];
  if (p.phrase(words) <= 0 || p.ch() !== 0x3a) return -1;
  p.i++;
  out.push({ name: null, adl: null, mailbox: words.join(' '), host: null });
  let ret = p.skipLwsp();
  if (ret > 0 && p.ch() !== 0x3b) {
    for (;;) {
      if (mailbox(p, out) <= 0) {
        ret = -1;
        break;
      }
      if (p.ch() !== 0x2c) break;
      p.i++;
      if (p.skipLwsp() <= 0) {
        ret = -1;
        break;
      }
    }
  }
  if (ret >= 0) {
    if (p.ch() !== 0x3b) ret = -1;
    else {
      p.i++;
      ret = p.skipLwsp();
    }
  }
  out.push({ name: null, adl: null, mailbox: null, host: null });
  return ret === 0 ? 0 : 1;
}

function quoteLocal(v: string): string {
  return /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.\x80-\xff]+$/.test(v) && !/^\.|\.$|\.\./.test(v) ? v : `"${v.replace(/(["\\])/g, '\\$1')}"`;
}

/** Address list → ENVELOPE addresses; groups become (NIL NIL "name" NIL) … (NIL NIL NIL NIL). */
export function parseAddressList(value: string): EnvelopeAddress[] {
  const out: EnvelopeAddress[] = [];
  const p = new Parser(value);
  if (p.skipLwsp() <= 0) return out;
  for (;;) {
    const start = p.i;
    let ret = group(p, out);
    if (ret < 0) {
      p.i = start;
      ret = mailbox(p, out);
    }
    if (ret === 0 || p.ch() !== 0x2c) return out; // the rest is garbage
    p.i++;
    const r = p.skipLwsp();
    if (r <= 0) {
      if (r < 0) out.push(fixed({ name: null, adl: null, mailbox: null, host: null })); // ends in garbage
      return out;
    }
  }
}
