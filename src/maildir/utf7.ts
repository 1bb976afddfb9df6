// IMAP modified UTF-7 (RFC 3501 section 5.1.3): the encoding Dovecot uses for folder
// names on disk (`.&U9dP4Xux-`) and in the subscriptions file. Pure functions.

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,';
const B64_INDEX = new Map<string, number>([...B64].map((c, i) => [c, i]));

function isDirect(code: number): boolean {
  // RFC 3501 5.1.3: printable US-ASCII except '&' represent themselves.
  return code >= 0x20 && code <= 0x7e && code !== 0x26;
}

function encodeRun(units: number[]): string {
  const bytes: number[] = [];
  for (const u of units) bytes.push(u >> 8, u & 0xff);
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + B64[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]!;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]!;
  }
  return `&${out}-`;
}

/** UTF-8 (JS string) → modified UTF-7. */
export function encodeMutf7(name: string): string {
  let out = '';
  let run: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (isDirect(code)) {
      if (run.length > 0) {
        out += encodeRun(run);
        run = [];
      }
      out += name[i];
    } else if (code === 0x26) {
      if (run.length > 0) {
        out += encodeRun(run);
        run = [];
      }
      out += '&-';
    } else {
      run.push(code); // UTF-16 code units, surrogate pairs included as RFC 2152 wants
    }
  }
  if (run.length > 0) out += encodeRun(run);
  return out;
}

/** Modified UTF-7 → UTF-8; throws on anything RFC 3501 forbids (so callers can reject). */
export function decodeMutf7(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 0x26) {
      if (!isDirect(c)) throw new Error('invalid character in modified UTF-7');
      out += text[i];
      i++;
      continue;
    }
    const end = text.indexOf('-', i + 1);
    if (end < 0) throw new Error('unterminated modified UTF-7 shift');
    if (end === i + 1) {
      out += '&';
      i = end + 1;
      continue;
    }
    let bits = 0;
    let acc = 0;
    const units: number[] = [];
    let bytePending = -1;
    for (let j = i + 1; j < end; j++) {
      const v = B64_INDEX.get(text[j]!);
      if (v === undefined) throw new Error('invalid base64 in modified UTF-7');
      acc = (acc << 6) | v;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        const byte = (acc >> bits) & 0xff;
        if (bytePending < 0) bytePending = byte;
        else {
          units.push((bytePending << 8) | byte);
          bytePending = -1;
        }
      }
    }
    // Leftover bits must be zero padding, and no half UTF-16 unit may remain.
    if (bytePending >= 0 || (acc & ((1 << bits) - 1)) !== 0 || bits >= 6) {
      throw new Error('bad modified UTF-7 padding');
    }
    const decoded = String.fromCharCode(...units);
    // RFC 3501: directly representable characters must not be base64 encoded.
    for (const u of units) if (isDirect(u) || u === 0x26) throw new Error('non-canonical modified UTF-7');
    if (!wellFormed(decoded)) throw new Error('unpaired surrogate in modified UTF-7');
    out += decoded;
    i = end + 1;
  }
  return out;
}

function wellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}
