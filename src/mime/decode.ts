// Charset and header decoding (pure). iconv-lite for most charsets; ISO-2022-JP (stateful,
// not in iconv-lite) and guessing of raw 8-bit Japanese through encoding-japanese.
import { isAscii, isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';
import Encoding from 'encoding-japanese';

const JIS_NAMES = new Set(['iso-2022-jp', 'iso-2022-jp-1', 'iso-2022-jp-2', 'iso-2022-jp-3', 'csiso2022jp', 'iso2022jp', 'jis']);
const SJIS_NAMES = new Set(['shift_jis', 'shift-jis', 'sjis', 'x-sjis', 'ms_kanji', 'csshiftjis', 'windows-31j', 'cp932', 'ms932']);
const UTF8_NAMES = new Set(['utf-8', 'utf8', 'unicode-1-1-utf-8']);

/** Bytes in `charset` → a JS string. Unknown charsets fall back to guessing; never throws. */
export function decodeCharset(buf: Buffer, charset: string): string {
  const cs = charset.trim().replace(/^"|"$/g, '').toLowerCase();
  try {
    if (UTF8_NAMES.has(cs)) return buf.toString('utf8');
    if (cs === 'us-ascii' || cs === 'ascii' || cs === '') return guessDecode(buf);
    if (JIS_NAMES.has(cs)) return decodeJis(buf);
    // Microsoft's superset: Japanese mailers label CP932 text as Shift_JIS.
    if (SJIS_NAMES.has(cs)) return iconv.decode(buf, 'cp932');
    if (cs === 'euc-jp' || cs === 'x-euc-jp' || cs === 'eucjp') return iconv.decode(buf, 'euc-jp');
    // RFC 1922/1468 aliasing: ks_c_5601-1987 is what Outlook calls cp949.
    if (cs === 'ks_c_5601-1987') return iconv.decode(buf, 'cp949');
    if (iconv.encodingExists(cs)) return iconv.decode(buf, cs);
  } catch {
    // fall through to guessing
  }
  return guessDecode(buf);
}

function decodeJis(buf: Buffer): string {
  return Encoding.codeToString(Encoding.convert(Array.from(buf), { to: 'UNICODE', from: 'JIS' }) as number[]);
}

/** Raw bytes of unknown charset: UTF-8 if valid, else Japanese if detected, else windows-1252. */
export function guessDecode(buf: Buffer): string {
  if (isAscii(buf)) return buf.includes(0x1b) ? decodeJis(buf) : buf.toString('latin1');
  if (isUtf8(buf)) return buf.toString('utf8');
  const det = Encoding.detect(Array.from(buf));
  if (det === 'SJIS') return iconv.decode(buf, 'cp932');
  if (det === 'EUCJP') return iconv.decode(buf, 'euc-jp');
  return iconv.decode(buf, 'windows-1252');
}

const WORD = /=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g;

/** A header value (binary latin1 string of the raw bytes) → text: RFC 2047 encoded words
 *  decoded (adjacent words joined, 6.2; broken ones left as is), raw 8-bit text guessed. */
export function decodeHeaderValue(value: string): string {
  let out = '';
  let last = 0;
  // Encoded words in a row with the same charset are joined as bytes first: Japanese
  // mailers split a multi-byte character (or an ISO-2022-JP escape state) across words.
  let pending: { charset: string; bytes: Buffer[] } | null = null;
  const flush = (): void => {
    if (pending) out += decodeCharset(Buffer.concat(pending.bytes), pending.charset);
    pending = null;
  };
  WORD.lastIndex = 0;
  for (let m = WORD.exec(value); m; m = WORD.exec(value)) {
    const between = value.slice(last, m.index);
    const charset = m[1]!.replace(/\*.*$/, ''); // RFC 2231 5: charset*lang
    const bytes = m[2]!.toUpperCase() === 'B' ? b64(m[3]!) : qDecode(m[3]!);
    if (bytes === null) continue; // broken word: stays as literal text
    if (!(pending && /^[ \t\r\n]*$/.test(between))) {
      flush();
      out += raw8(between);
    }
    // Linear white space between encoded words is dropped (RFC 2047 6.2).
    const p = pending as { charset: string; bytes: Buffer[] } | null;
    if (p && p.charset.toLowerCase() === charset.toLowerCase()) p.bytes.push(bytes);
    else {
      flush();
      pending = { charset, bytes: [bytes] };
    }
    last = m.index + m[0].length;
  }
  flush();
  out += raw8(value.slice(last));
  return out;
}

function raw8(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/[\x80-\xff\x1b]/.test(s)) return s;
  return guessDecode(Buffer.from(s, 'latin1'));
}

function b64(s: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]*=*$/.test(s)) return null;
  return Buffer.from(s, 'base64');
}

function qDecode(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '_') out.push(0x20);
    else if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(s.charCodeAt(i) & 0xff);
  }
  return Buffer.from(out);
}

/** Quoted-printable body (RFC 2045 6.7), lenient. */
export function decodeQuotedPrintable(buf: Buffer): Buffer {
  const out = Buffer.alloc(buf.length);
  let o = 0;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (c !== 0x3d) {
      out[o++] = c;
      continue;
    }
    // Byte tests, not a regex on a substring: the streaming body decoder runs this per chunk.
    const a = buf[i + 1];
    const b = buf[i + 2];
    if (a !== undefined && b !== undefined && isHex(a) && isHex(b)) {
      out[o++] = parseInt(String.fromCharCode(a, b), 16);
      i += 2;
    } else if (a === 0x0d && b === 0x0a) i += 2; // soft line break
    else if (a === 0x0a) i += 1;
    else out[o++] = c;
  }
  return out.subarray(0, o);
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const ZONES: Record<string, number> = { ut: 0, gmt: 0, z: 0, utc: 0, est: -300, edt: -240, cst: -360, cdt: -300, mst: -420, mdt: -360, pst: -480, pdt: -420 };

export interface DateParts {
  year: number;
  month: number; // 1..12
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** Offset from UTC in minutes as written (0 when unknown). */
  offset: number;
}

/** RFC 5322 3.3 date-time incl. the obsolete forms of 4.3 (2- and 3-digit years, named and
 *  military zones, missing seconds or weekday, comments). Null when no date can be read. */
export function parseDateParts(value: string): DateParts | null {
  const s = stripParens(value).toLowerCase().replace(/,/g, ' ').trim();
  const m = /(\d{1,2})\s*[ -]\s*([a-z]{3})[a-z]*\s*[ -]\s*(\d{2,4})\s+(\d{1,2})\s*:\s*(\d{1,2})(?:\s*:\s*(\d{1,2}))?\s*([+-]\d{4}|[a-z]+)?/.exec(s);
  if (!m) return null;
  const month = MONTHS.indexOf(m[2]!) + 1;
  if (month === 0) return null;
  let year = Number(m[3]);
  // RFC 5322 4.3: two-digit years < 50 are 20xx, others 19xx; three-digit years add 1900.
  if (m[3]!.length === 2) year += year < 50 ? 2000 : 1900;
  else if (m[3]!.length === 3) year += 1900;
  const day = Number(m[1]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = m[6] ? Number(m[6]) : 0;
  if (day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  let offset = 0;
  const z = m[7];
  if (z && /^[+-]\d{4}$/.test(z)) {
    const sign = z[0] === '-' ? -1 : 1;
    offset = sign * (Number(z.slice(1, 3)) * 60 + Number(z.slice(3, 5)));
  } else if (z && ZONES[z] !== undefined) offset = ZONES[z]!;
  return { year, month, day, hour, minute, second, offset };
}

export function parseDate(value: string): Date | null {
  const p = parseDateParts(value);
  if (!p) return null;
  const t = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - p.offset * 60_000;
  return Number.isFinite(t) ? new Date(t) : null;
}

function stripParens(s: string): string {
  let out = '';
  let depth = 0;
  for (const c of s) {
    if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if (depth === 0) out += c;
  }
  return out;
}
