// Header block parsing: fields, Content-Type / Content-Disposition with RFC 2045 and
// RFC 2231 parameters. Pure. Values are binary (latin1) strings of the raw bytes until a
// caller asks for decoding (decode.ts), because IMAP's ENVELOPE and BODYSTRUCTURE carry the
// undecoded bytes (RFC 3501 7.4.2).
import { decodeCharset, decodeHeaderValue } from './decode.js';
import type { ContentType, HeaderField } from './types.js';

/** Lines as kept by the scanner (each ending in CRLF, the last possibly not). */
export function parseHeaderBlock(lines: Buffer[]): HeaderField[] {
  const fields: HeaderField[] = [];
  let curLines: Buffer[] | null = null;
  const flush = (): void => {
    if (!curLines) return;
    const raw = curLines.length === 1 ? curLines[0]! : Buffer.concat(curLines);
    curLines = null;
    const text = raw.toString('latin1');
    const colon = text.indexOf(':');
    if (colon <= 0) return; // not a field (RFC 5322 2.2 needs "name:"): skipped, as Dovecot does
    const name = text.slice(0, colon).replace(/[ \t]+$/, '');
    if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) return;
    // RFC 5322 2.2.3 unfolding: remove each CRLF that precedes WSP.
    const value = text
      .slice(colon + 1)
      .replace(/\r?\n(?=[ \t])/g, '')
      .replace(/\r?\n$/, '')
      .replace(/^[ \t]+/, '');
    fields.push({ name, key: name.toLowerCase(), raw, value });
  };
  for (const line of lines) {
    const c = line[0];
    if ((c === 0x20 || c === 0x09) && curLines) {
      curLines.push(line);
      continue;
    }
    flush();
    curLines = [line];
  }
  flush();
  return fields;
}

export interface ParsedParams {
  /** Decoded values (RFC 2231 joined and charset-decoded, RFC 2047 words decoded), lower-case keys. */
  params: Record<string, string>;
  /** What IMAP lists (Dovecot's form): continuations joined, extended values kept as
   *  `name*` = "charset'lang'%XX" undecoded, names lower-case, in order. */
  imap: Array<[string, string]>;
}

/** RFC 2045 5.1 token: any CHAR but SPACE, CTLs and tspecials. */
export const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$/;
const TOKEN_CHAR = /^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]$/;

/** A cursor over a structured header value (RFC 5322 3.2.2 CFWS, RFC 2045 tokens). */
class Cursor {
  i = 0;
  constructor(readonly s: string) {}
  get end(): boolean {
    return this.i >= this.s.length;
  }
  /** White space and comments: 1 more input, 0 end, -1 unterminated comment. */
  skipLwsp(): number {
    while (this.i < this.s.length) {
      const c = this.s[this.i]!;
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') this.i++;
      else if (c === '(') {
        let depth = 0;
        for (; this.i < this.s.length; this.i++) {
          const d = this.s[this.i]!;
          if (d === '\\') this.i++;
          else if (d === '(') depth++;
          else if (d === ')' && --depth === 0) break;
        }
        if (depth > 0) return -1;
        this.i++;
      } else return 1;
    }
    return 0;
  }
  /** RFC 2045 token, then CFWS (0 at the end of input). */
  token(out: string[]): number {
    const start = this.i;
    while (this.i < this.s.length && TOKEN_CHAR.test(this.s[this.i]!)) this.i++;
    out.push(this.s.slice(start, this.i));
    return this.end ? 0 : this.skipLwsp();
  }
  /** quoted-string (escapes and folding removed), then CFWS; -1 when unterminated. */
  quoted(out: string[]): number {
    let v = '';
    for (this.i++; this.i < this.s.length; this.i++) {
      const c = this.s[this.i]!;
      if (c === '"') {
        this.i++;
        out.push(v);
        return this.skipLwsp();
      }
      if (c === '\\') {
        if (++this.i >= this.s.length) return -1;
        v += this.s[this.i];
      } else if (c !== '\r' && c !== '\n') v += c;
    }
    return -1;
  }
  /** `; attribute = value`: 1 parameter read, 0 end, -1 broken (Dovecot's
   *  rfc822_parse_content_param()). */
  param(out: Array<[string, string, boolean]>): number {
    if (this.end) return 0;
    if (this.s[this.i] !== ';') return -1;
    this.i++;
    if (this.skipLwsp() <= 0) return -1;
    const name: string[] = [];
    if (this.token(name) <= 0 || name[0] === '' || this.s[this.i] !== '=') return -1;
    this.i++;
    const val: string[] = [];
    let ret = this.skipLwsp();
    let quoted = false;
    if (ret <= 0) val.push(''); // no value
    else if (this.s[this.i] === '"') {
      quoted = true;
      ret = this.quoted(val);
    } else if (this.s[this.i] === '=') {
      // Broken but common: name==?utf-8?b?...?= (an unquoted encoded word).
      const start = this.i;
      while (this.i < this.s.length && !';  \t\r\n'.includes(this.s[this.i]!)) this.i++;
      val.push(this.s.slice(start, this.i));
    } else ret = this.token(val);
    if (ret < 0) return -1;
    out.push([name[0]!, val[0] ?? '', quoted]);
    return 1;
  }
}

/** Splits `value; a=b; c="d"` into its leading part and parameters. Never throws. Broken
 *  syntax is recovered from as Dovecot's rfc2231_parse() does: a broken parameter is
 *  dropped and parsing resumes one character further (so at the next ";"), an
 *  unterminated quoted value or comment drops its parameter. `tokenBroken`: an
 *  unterminated comment inside the leading part. */
export function parseParameterized(value: string): { token: string; params: ParsedParams; tokenBroken: boolean } {
  const c = new Cursor(value);
  let tokenBroken = c.skipLwsp() < 0;
  let token = '';
  while (!c.end && c.s[c.i] !== ';' && !tokenBroken) {
    if (c.s[c.i] === '(') {
      const before = c.i;
      if (c.skipLwsp() < 0) tokenBroken = true;
      if (c.i === before) c.i++;
      token += ' ';
      continue;
    }
    if (c.s[c.i] === '"') {
      const q: string[] = [];
      if (c.quoted(q) < 0) break;
      token += `"${q[0]}"`;
      continue;
    }
    token += c.s[c.i++];
  }
  token = token.replace(/[ \t\r\n]+/g, ' ').trim();
  const raw: Array<[string, string, boolean]> = []; // name, value, was-quoted
  if (!tokenBroken) {
    for (let ret = c.param(raw); ret !== 0; ret = c.param(raw)) {
      if (ret < 0) {
        if (c.end) break;
        c.i++; // "try to continue anyway"
      }
    }
  }
  return { token, params: joinRfc2231(raw), tokenBroken };
}

/** RFC 2231 3-4: name*0, name*1* … joined in order; name* / name*0* carry charset'lang'. */
function joinRfc2231(raw: Array<[string, string, boolean]>): ParsedParams {
  const params: Record<string, string> = {};
  const imap: Array<[string, string]> = [];
  const groups = new Map<string, { parts: Map<number, { v: string; ext: boolean }>; pos: number }>();
  const order: Array<{ name: string; kind: 'plain' | 'cont'; value?: string }> = [];
  for (const [name, val] of raw) {
    const m = /^([^*]+)\*(?:(\d+)\*?|)$/.exec(name) ?? null;
    const ext = name.endsWith('*');
    if (!m) {
      order.push({ name, kind: 'plain', value: val });
      continue;
    }
    const base = m[1]!;
    const idx = m[2] === undefined ? 0 : Number(m[2]);
    // Parameter names are case-insensitive (RFC 2045 5.1): one group whatever the case.
    let g = groups.get(base.toLowerCase());
    if (!g) {
      g = { parts: new Map(), pos: order.length };
      groups.set(base.toLowerCase(), g);
      order.push({ name: base, kind: 'cont' });
    }
    if (!g.parts.has(idx)) g.parts.set(idx, { v: val, ext });
  }
  // Dovecot's rfc2231_parse() order: plain parameters as written, then the RFC 2231 ones
  // sorted by name.
  const sorted = [...order.filter((o) => o.kind === 'plain'), ...order.filter((o) => o.kind === 'cont').sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))];
  for (const o of sorted) {
    const key = o.name.toLowerCase();
    if (o.kind === 'plain') {
      imap.push([o.name, o.value!]);
      if (params[key] === undefined) params[key] = decodeHeaderValue(o.value!);
      continue;
    }
    const g = groups.get(key)!;
    const idxs = [...g.parts.keys()].sort((a, b) => a - b);
    if (idxs.some((k, n) => k !== n)) {
      // Missing sections: not RFC 2231 after all; listed as written (Dovecot).
      for (const k of idxs) {
        const seg = g.parts.get(k)!;
        imap.push([`${o.name}*${k}${seg.ext ? '*' : ''}`, seg.v]);
      }
      continue;
    }
    const first = g.parts.get(idxs[0]!)!;
    const anyExt = idxs.some((k) => g.parts.get(k)!.ext);
    if (!anyExt) {
      const joined = idxs.map((k) => g.parts.get(k)!.v).join('');
      imap.push([o.name, joined]);
      params[key] = decodeHeaderValue(joined);
      continue;
    }
    // Extended: charset'lang' on the first segment; %XX in extended segments only.
    let charset = 'us-ascii';
    let firstVal = first.v;
    if (first.ext) {
      const q = /^([^']*)'([^']*)'(.*)$/s.exec(first.v);
      if (q) {
        charset = q[1] || 'us-ascii';
        firstVal = q[3]!;
      }
    }
    const bytes: Buffer[] = [];
    const rawJoined: string[] = [];
    idxs.forEach((k, n) => {
      const seg = g.parts.get(k)!;
      const v = n === 0 ? firstVal : seg.v;
      bytes.push(seg.ext ? pctDecode(v) : Buffer.from(v, 'latin1'));
      // IMAP lists the extended value as written (Dovecot); plain segments joined into an
      // extended one get %-encoded so the whole stays one RFC 2231 value.
      rawJoined.push(seg.ext ? seg.v : seg.v.replace(/[^A-Za-z0-9!#$&+\-.^_`|~]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')));
    });
    imap.push([o.name + '*', rawJoined.join('')]);
    params[key] = decodeCharset(Buffer.concat(bytes), charset);
  }
  return { params, imap };
}

function pctDecode(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(c & 0xff);
  }
  return Buffer.from(out);
}

/** RFC 5322 comments in structured fields, outside quoted strings. */
export function stripComments(s: string): string {
  return stripCommentsAt(s).text;
}

/** Comments removed; `brokenAt` is where an unterminated comment began in the output. */
export function stripCommentsAt(s: string): { text: string; brokenAt: number | null } {
  let out = '';
  let depth = 0;
  let quoted = false;
  let openedAt = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted) {
      out += c;
      if (c === '\\' && i + 1 < s.length) out += s[++i];
      else if (c === '"') quoted = false;
    } else if (depth > 0) {
      if (c === '\\') i++;
      else if (c === '(') depth++;
      else if (c === ')') depth--;
    } else if (c === '(') {
      depth++;
      openedAt = out.length;
    } else {
      if (c === '"') quoted = true;
      out += c;
    }
  }
  return { text: out, brokenAt: depth > 0 ? openedAt : null };
}

export interface ContentTypeEx extends ContentType {
  imapParams: Array<[string, string]>;
}

/** RFC 2045 5.2: a missing Content-Type is text/plain; charset=us-ascii (message/rfc822
 *  inside multipart/digest, RFC 2046 5.1.5). An unparsable one comes out as type "" and
 *  subtype "" without parameters, as Dovecot reports it (a leaf part that is not text);
 *  a type without subtype ("text") keeps an empty subtype, also as Dovecot. */
export function parseContentType(value: string | undefined, digest = false): ContentTypeEx {
  if (value === undefined) {
    return digest
      ? { type: 'message', subtype: 'rfc822', params: {}, imapParams: [] }
      : { type: 'text', subtype: 'plain', params: { charset: 'us-ascii' }, imapParams: [['charset', 'us-ascii']] };
  }
  const broken: ContentTypeEx = { type: '', subtype: '', params: {}, imapParams: [] };
  const only = (type: string): ContentTypeEx =>
    // "multipart" without subtype cannot be split: Dovecot serves it as an opaque part.
    type.toLowerCase() === 'multipart' ? { type: 'application', subtype: 'octet-stream', params: {}, imapParams: [] } : { type: type.toLowerCase(), subtype: '', params: {}, imapParams: [] };
  // Dovecot's rfc822_parse_content_type(), with what 2.3 answers for each way it can fail.
  const c = new Cursor(value);
  if (c.skipLwsp() < 0) return broken;
  const t: string[] = [];
  const r1 = c.token(t);
  const type = t[0]!;
  if (type === '') return broken;
  if (r1 < 0) return only(type); // an unterminated comment after the type
  if (c.end) return only(type); // "text": a type alone
  if (c.s[c.i] !== '/') return broken;
  c.i++;
  if (c.skipLwsp() <= 0) return broken;
  const st: string[] = [];
  const r2 = c.token(st);
  const subtype = st[0]!;
  if (subtype === '' || r2 < 0 || (r2 > 0 && c.s[c.i] !== ';')) return broken;
  const { params } = parseParameterized(value);
  return { type: type.toLowerCase(), subtype: subtype.toLowerCase(), params: params.params, imapParams: params.imap };
}

/** Content-Transfer-Encoding value (RFC 2045 6.1): a token, lower-cased; "7bit" when missing
 *  or not a token. `asWritten` keeps the case for BODYSTRUCTURE (Dovecot echoes it). */
export function parseEncoding(value: string | undefined, asWritten = false): string {
  if (value === undefined) return '7bit';
  const v = stripComments(value).trim();
  if (!TOKEN.test(v)) return '7bit';
  return asWritten ? v : v.toLowerCase();
}

export function parseDisposition(value: string): { type: string; params: Record<string, string>; imapParams: Array<[string, string]> } | null {
  const { token, params } = parseParameterized(value);
  if (!token) return null;
  return { type: token.toLowerCase(), params: params.params, imapParams: params.imap };
}
