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

/** Splits `value; a=b; c="d"` into its leading token and parameters. Never throws.
 *  Broken syntax is recovered from as Dovecot's rfc822 parser does: a parameter without "="
 *  or with a name that is not a token ends the list, an unterminated quoted value is
 *  dropped, an unterminated comment drops every parameter (and, before the first ";",
 *  marks the token broken). */
export function parseParameterized(value: string): { token: string; params: ParsedParams; tokenBroken: boolean } {
  const { text: s, brokenAt } = stripCommentsAt(value);
  let i = 0;
  const skipWs = (): void => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\r' || s[i] === '\n')) i++;
  };
  skipWs();
  let token = '';
  while (i < s.length && s[i] !== ';') token += s[i++];
  const tokenBroken = brokenAt !== null && brokenAt <= i;
  token = token.trim();
  const raw: Array<[string, string, boolean]> = []; // name, value, was-quoted
  while (i < s.length && brokenAt === null) {
    i++; // ';'
    skipWs();
    if (i >= s.length) break; // a trailing ";" is harmless
    let name = '';
    while (i < s.length && s[i] !== '=' && s[i] !== ';') name += s[i++];
    name = name.trim();
    if (s[i] !== '=' || !TOKEN.test(name)) break;
    i++;
    skipWs();
    let val = '';
    let quoted = false;
    if (s[i] === '"') {
      quoted = true;
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        val += s[i++];
      }
      if (i >= s.length) break; // unterminated: dropped
      i++;
      while (i < s.length && s[i] !== ';') i++;
    } else {
      // The value token ends at the first byte a token cannot hold; what follows up to the
      // next ';' is garbage (Dovecot drops it and goes on with the next parameter).
      while (i < s.length && TOKEN_CHAR.test(s[i]!)) val += s[i++];
      while (i < s.length && s[i] !== ';') i++;
    }
    raw.push([name, val, quoted]);
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
function stripCommentsAt(s: string): { text: string; brokenAt: number | null } {
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
  const { token, params, tokenBroken } = parseParameterized(value);
  const m = /^([^\s/]+)\s*(?:\/\s*([^\s/]+))?$/.exec(token);
  const bad = tokenBroken || !m || !TOKEN.test(m[1]!) || (m[2] !== undefined && !TOKEN.test(m[2])) || (m[2] === undefined && token.includes('/'));
  // A type without subtype passes only alone ("text"); followed by parameters it is broken.
  if (bad || (m[2] === undefined && stripComments(value).includes(';'))) {
    return { type: '', subtype: '', params: {}, imapParams: [] };
  }
  return { type: m[1]!.toLowerCase(), subtype: (m[2] ?? '').toLowerCase(), params: params.params, imapParams: params.imap };
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
