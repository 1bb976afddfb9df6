// A compact, versioned text form of a scanned MimePart, so the store's index can keep the
// structure beside the Maildir (ARCHITECTURE: cache files that can be deleted and rebuilt)
// and FETCH ENVELOPE/BODYSTRUCTURE or SEARCH FROM need not re-read the file. Pure.
import type { HeaderField, MimePart } from './types.js';

/** Bump when the scanner's output changes: old cache entries then read as missing. */
export const STRUCTURE_VERSION = 1;

type Packed = [
  number[], // path
  number, // headerStart
  number, // headerLength
  number, // bodyStart
  number, // bodyLength
  number, // bodyLines
  string[], // headers: raw fields as latin1 (names and values are re-derived)
  [string, string, Record<string, string>], // content type
  string, // encoding
  [string, Record<string, string>] | null, // disposition
  Packed[], // children
  Packed | null, // message
  0 | 1, // headerTerminated
];

function pack(p: MimePart): Packed {
  return [
    p.path,
    p.headerStart,
    p.headerLength,
    p.bodyStart,
    p.bodyLength,
    p.bodyLines,
    p.headers.map((h) => h.raw.toString('latin1')),
    [p.contentType.type, p.contentType.subtype, p.contentType.params],
    p.encoding,
    p.disposition ? [p.disposition.type, p.disposition.params] : null,
    p.children.map(pack),
    p.message ? pack(p.message) : null,
    p.headerTerminated === false ? 0 : 1,
  ];
}

function field(raw: string): HeaderField {
  const colon = raw.indexOf(':');
  const name = raw.slice(0, colon).replace(/[ \t]+$/, '');
  const value = raw
    .slice(colon + 1)
    .replace(/\r?\n(?=[ \t])/g, '')
    .replace(/\r?\n$/, '')
    .replace(/^[ \t]+/, '');
  return { name, key: name.toLowerCase(), raw: Buffer.from(raw, 'latin1'), value };
}

function unpack(x: Packed): MimePart {
  const [path, headerStart, headerLength, bodyStart, bodyLength, bodyLines, headers, ct, encoding, disp, children, message, term] = x;
  return {
    path,
    headerStart,
    headerLength,
    headerTerminated: term === 1,
    bodyStart,
    bodyLength,
    bodyLines,
    headers: headers.map(field),
    contentType: { type: ct[0], subtype: ct[1], params: ct[2] },
    encoding,
    disposition: disp ? { type: disp[0], params: disp[1] } : null,
    children: children.map(unpack),
    message: message ? unpack(message) : null,
  };
}

export function encodeStructure(root: MimePart): string {
  return JSON.stringify([STRUCTURE_VERSION, pack(root)]);
}

/** Null when the entry is from another version or damaged: the caller rescans the file. */
export function decodeStructure(text: string): MimePart | null {
  try {
    const v = JSON.parse(text) as unknown;
    if (!Array.isArray(v) || v[0] !== STRUCTURE_VERSION || !Array.isArray(v[1])) return null;
    return unpack(v[1] as Packed);
  } catch {
    return null;
  }
}
