// Incremental MIME structure scanner (pure: bytes in, a MimePart tree out).
//
// Fed the stored bytes (LF line ends, possibly some CRLF) in any chunking, it computes every
// offset, length and line count in the CRLF form IMAP serves (types.ts: each LF not preceded
// by CR counts as CRLF). Memory is bounded: it keeps header blocks up to MAX_HEADER_BYTES per
// part and at most LINE_PREFIX bytes of any body line (enough to recognise a boundary), never
// bodies. It never throws on bad input: broken structure degrades to opaque bodies, as
// Dovecot's message-parser does.
import { parseContentType, parseDisposition, parseEncoding, parseHeaderBlock } from './headers.js';
import type { MimePart } from './types.js';

/** Header bytes kept per part; fields past this are scanned but dropped. */
export const MAX_HEADER_BYTES = 64 * 1024;
/** Nesting cap (multiparts and encapsulated messages); deeper content is opaque (Dovecot: 100). */
export const MAX_DEPTH = 100;
/** Total parts cap; past it new boundaries are ignored (Dovecot: 10000). */
export const MAX_PARTS = 10000;
/** RFC 2046 5.1.1 limits a boundary to 70 characters; keep more to see "--boundary--" plus noise. */
const LINE_PREFIX = 1024;

interface Node {
  part: MimePart;
  parent: Node | null;
  state: 'header' | 'body';
  depth: number;
  /** Raw header lines kept (CRLF-terminated), up to the cap. */
  headerLines: Buffer[];
  headerKept: number;
  /** The current field is being dropped (too big for the header budget). */
  dropField: boolean;
  /** Multipart boundary with its leading "--", once the header said so (null otherwise). */
  boundary: Buffer | null;
  /** After the close delimiter the boundary no longer delimits anything (epilogue). */
  closed: boolean;
  /** CRLF offset right after the close delimiter line. */
  epilogueStart: number;
  /** Global line index at which the body starts (for line counts). */
  bodyLineStart: number;
  /** Whether this node is the encapsulated message of its parent (message/rfc822). */
  encapsulated: boolean;
}

export class MimeScanner {
  private pos = 0; // CRLF offset of the current line's start
  private lineIdx = 0; // complete lines seen
  private prefix: Buffer[] = [];
  private prefixLen = 0;
  private lineRaw = 0; // stored bytes of the current partial line
  private lastCr = false; // last stored byte of the partial line is CR
  private skipLine = false; // the current line's text is not needed
  private cur: Node;
  private readonly root: Node;
  private parts = 1;
  private done: MimePart | null = null;

  constructor() {
    this.root = newNode([], null, 0, 0, false);
    this.cur = this.root;
  }

  push(chunk: Buffer): void {
    if (this.done) return;
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 ? chunk.length : nl;
      if (end > start) {
        this.keep(chunk.subarray(start, end));
        this.lineRaw += end - start;
        this.lastCr = chunk[end - 1] === 0x0d;
      }
      if (nl === -1) break;
      // Content in CRLF form excludes a CR right before the LF; the line ending is 2 bytes.
      const content = this.lineRaw - (this.lastCr ? 1 : 0);
      this.line(this.takePrefix(this.lastCr), content, true);
      start = nl + 1;
    }
  }

  end(): MimePart {
    if (this.done) return this.done;
    if (this.lineRaw > 0) {
      const len = this.lineRaw;
      this.line(this.takePrefix(false), len, false);
    }
    // Close everything at the end of input (truncated messages included).
    for (let n: Node | null = this.cur; n; n = n.parent) this.close(n, this.pos, this.lineIdx);
    this.done = this.root.part;
    return this.done;
  }

  private keep(b: Buffer): void {
    // A body line that does not start with "-" cannot be a boundary: keep nothing of it
    // (most of a large message is such lines).
    if (this.cur.state === 'body' && (this.skipLine || (this.lineRaw === 0 && b[0] !== 0x2d))) {
      this.skipLine = true;
      return;
    }
    const cap = this.cur.state === 'header' ? Math.max(LINE_PREFIX, MAX_HEADER_BYTES - this.cur.headerKept) : LINE_PREFIX;
    if (this.prefixLen >= cap) return;
    const take = b.length > cap - this.prefixLen ? b.subarray(0, cap - this.prefixLen) : b;
    this.prefix.push(Buffer.from(take));
    this.prefixLen += take.length;
  }

  private takePrefix(stripCr: boolean): Buffer {
    let b = this.prefix.length === 1 ? this.prefix[0]! : this.prefix.length === 0 ? EMPTY : Buffer.concat(this.prefix);
    // The kept prefix may stop before the CR when the line was longer than the cap.
    if (stripCr && b.length === this.lineRaw && b.length > 0 && b[b.length - 1] === 0x0d) b = b.subarray(0, b.length - 1);
    this.prefix = [];
    this.prefixLen = 0;
    this.lineRaw = 0;
    this.skipLine = false;
    this.lastCr = false;
    return b;
  }

  /** One line: `text` its (possibly capped) content, `len` its full CRLF-form content length. */
  private line(text: Buffer, len: number, terminated: boolean): void {
    const lineStart = this.pos;
    const lineEnd = lineStart + len + (terminated ? 2 : 0);
    const hit = this.matchBoundary(text);
    if (hit) {
      this.boundaryLine(hit, text, lineStart, lineEnd);
    } else if (this.cur.state === 'header') {
      this.headerLine(text, len, terminated, lineEnd);
    }
    // Body lines need nothing: offsets and line counts come from the positions.
    this.pos = lineEnd;
    if (terminated) this.lineIdx++;
  }

  private headerLine(text: Buffer, len: number, terminated: boolean, lineEnd: number): void {
    const n = this.cur;
    if (len === 0 && terminated) {
      // The empty line ends the header and belongs to it (RFC 3501 HEADER includes it).
      n.part.headerLength = lineEnd - n.part.headerStart;
      n.part.headerTerminated = true;
      this.startBody(n, lineEnd);
      return;
    }
    n.part.headerLength = lineEnd - n.part.headerStart;
    const continuation = text[0] === 0x20 || text[0] === 0x09;
    if (!continuation) n.dropField = false;
    if (n.dropField) return;
    if (text.length !== len || n.headerKept + len + 2 > MAX_HEADER_BYTES) {
      // Too big to keep whole: drop this field (its lines kept so far too) rather than keep a
      // truncated value, and go on keeping the fields after it while the budget lasts.
      if (continuation) {
        for (let last = n.headerLines.pop(); last; last = n.headerLines.pop()) {
          n.headerKept -= last.length;
          if (last[0] !== 0x20 && last[0] !== 0x09) break;
        }
      }
      n.dropField = true;
      return;
    }
    const raw = terminated ? Buffer.concat([text, CRLF]) : text;
    n.headerLines.push(raw);
    n.headerKept += raw.length;
  }

  /** Header complete: decide what the body is. */
  private startBody(n: Node, bodyStart: number): void {
    n.state = 'body';
    n.part.bodyStart = bodyStart;
    n.bodyLineStart = this.lineIdx + 1;
    const p = n.part;
    p.headers = parseHeaderBlock(n.headerLines);
    n.headerLines = [];
    const ctField = p.headers.find((h) => h.key === 'content-type');
    // RFC 2046 5.1.5: parts of multipart/digest default to message/rfc822.
    const digest = n.parent?.part.contentType.type === 'multipart' && n.parent.part.contentType.subtype === 'digest' && !n.encapsulated;
    // imap-structure.ts re-reads the parameters in IMAP form from the header itself.
    const { type: cType, subtype: cSub, params: cParams } = parseContentType(ctField?.value, digest);
    p.contentType = { type: cType, subtype: cSub, params: cParams };
    p.encoding = parseEncoding(p.headers.find((h) => h.key === 'content-transfer-encoding')?.value);
    // Dovecot reads dispositions until one has parameters (else the last one counts).
    let disp: ReturnType<typeof parseDisposition> = null;
    for (const h of p.headers) {
      if (h.key !== 'content-disposition') continue;
      disp = parseDisposition(h.value) ?? disp;
      if (disp && Object.keys(disp.params).length > 0) break;
    }
    p.disposition = disp ? { type: disp.type, params: disp.params } : null;
    // RFC 2045 4: without MIME-Version or Content-Type (and outside a multipart) the
    // Content-* fields do not apply; Dovecot ignores them the same way.
    const mime = (n.parent?.part.contentType.type === 'multipart' && !n.encapsulated) || p.headers.some((h) => h.key === 'mime-version' || h.key === 'content-type');
    if (!mime) {
      p.encoding = '7bit';
      p.disposition = null;
    }
    if (n.depth >= MAX_DEPTH || this.parts >= MAX_PARTS) return; // opaque from here on
    const { type, subtype, params } = p.contentType;
    if (type === 'multipart') {
      // An empty boundary still delimits (every "--" line), as Dovecot parses it.
      const b = params['boundary'];
      if (b !== undefined) n.boundary = Buffer.from('--' + b, 'latin1');
    } else if (type === 'message' && subtype === 'rfc822') {
      // The encapsulated message starts right at the body; its parts take this part's number.
      // Parsed whatever the transfer encoding says, as Dovecot does (a base64 one yields an
      // empty envelope), so part numbers agree with what clients cached from Dovecot.
      const child = newNode(p.path, n, n.depth + 1, bodyStart, true);
      p.message = child.part;
      this.parts++;
      this.cur = child;
    }
  }

  /** Innermost open boundary the line starts with (Dovecot compares prefixes the same way). */
  private matchBoundary(text: Buffer): Node | null {
    if (text.length < 2 || text[0] !== 0x2d || text[1] !== 0x2d) return null;
    for (let n: Node | null = this.cur; n; n = n.parent) {
      if (!n.boundary || n.closed || n.state !== 'body') continue;
      if (text.length >= n.boundary.length && text.subarray(0, n.boundary.length).equals(n.boundary)) return n;
    }
    return null;
  }

  private boundaryLine(mp: Node, text: Buffer, lineStart: number, lineEnd: number): void {
    // RFC 2046 5.1.1: the CRLF before a boundary belongs to the boundary. Dovecot 2.3 (whose
    // numbers clients have cached) applies that only when body or header data precede it;
    // after a close delimiter (an epilogue, even an empty one) or inside the header of an
    // encapsulated message the line end stays with the parts. We match it.
    const inner = this.cur;
    const cut = lineStart >= 2 ? lineStart - 2 : lineStart;
    const chain: Node[] = [];
    for (let n = this.cur; n !== mp; n = n.parent!) chain.push(n);
    // A header whose empty line directly precedes the boundary gives that line end to the
    // boundary (its part's header shrinks), while the parts above it keep it (Dovecot moves
    // "the newline size to the parent's body").
    const x = lineStart >= 2 ? chain.findIndex((n) => n.state === 'body' && !n.closed && n.part.bodyStart === lineStart) : -1;
    let end = cut;
    let hdrEnd = cut;
    if (x < 0) {
      if (inner.closed) end = Math.max(cut, inner.epilogueStart); // the close delimiter keeps its CRLF
      else if (inner.state === 'header' && inner.encapsulated && inner.part.headerStart < lineStart) end = lineStart;
    }
    chain.forEach((n, k) => {
      const e = x >= 0 && k > x ? lineStart : end;
      this.close(n, e, e === lineStart ? this.lineIdx : this.lineIdx - 1, k === 0 ? hdrEnd : e);
    });
    this.cur = mp;
    const b = mp.boundary!;
    const isClose = text.length >= b.length + 2 && text[b.length] === 0x2d && text[b.length + 1] === 0x2d;
    // A boundary as the last, unterminated line ends the parts but opens none (Dovecot).
    if (isClose || this.parts >= MAX_PARTS || lineEnd === lineStart + text.length) {
      mp.closed = true; // what follows is the epilogue, part of the multipart's body
      mp.epilogueStart = lineEnd;
      return;
    }
    const child = newNode([...mp.part.path, mp.part.children.length + 1], mp, mp.depth + 1, lineEnd, false);
    mp.part.children.push(child.part);
    this.parts++;
    this.cur = child;
  }

  /** Ends node n at CRLF offset `end`, `lfs` line ends having been seen before it; an
   *  unfinished header ends at `hdrEnd`. */
  private close(n: Node, end: number, lfs: number, hdrEnd = end): void {
    const p = n.part;
    if (n.state === 'header') {
      // The header never ended (truncated, or a boundary came first): no body.
      // An empty part right before the boundary (two boundary lines in a row) sits at the
      // end of its parent rather than past it.
      if (hdrEnd < p.headerStart) p.headerStart = hdrEnd;
      const hEnd = hdrEnd;
      p.headerLength = hEnd - p.headerStart;
      p.headerTerminated = false;
      this.startBody(n, hEnd);
      if (this.cur !== n) {
        // startBody opened an encapsulated message; it is empty.
        const child = this.cur;
        this.cur = n;
        this.close(child, hEnd, lfs);
      }
      p.bodyLength = 0;
      p.bodyLines = 0;
      return;
    }
    if (end < p.bodyStart) {
      // A boundary right after the header's empty line takes that line's CRLF (Dovecot):
      // the header loses it and the body is empty.
      if (end < p.headerStart) p.headerStart = end;
      p.headerLength = end - p.headerStart;
      p.bodyStart = end;
      p.bodyLength = 0;
      p.bodyLines = 0;
      return;
    }
    p.bodyLength = end - p.bodyStart;
    // Lines: the line ends inside the body (an unterminated last line does not count).
    p.bodyLines = Math.max(0, lfs - n.bodyLineStart);
  }
}

function newNode(path: number[], parent: Node | null, depth: number, start: number, encapsulated: boolean): Node {
  return {
    part: {
      path,
      headerStart: start,
      headerLength: 0,
      bodyStart: start,
      bodyLength: 0,
      bodyLines: 0,
      headers: [],
      contentType: { type: 'text', subtype: 'plain', params: { charset: 'us-ascii' } },
      encoding: '7bit',
      disposition: null,
      children: [],
      message: null,
    },
    parent,
    state: 'header',
    depth,
    headerLines: [],
    headerKept: 0,
    dropField: false,
    boundary: null,
    closed: false,
    epilogueStart: 0,
    bodyLineStart: 0,
    encapsulated,
  };
}

const CRLF = Buffer.from('\r\n');
const EMPTY = Buffer.alloc(0);

/** Stored bytes → CRLF form (each LF not preceded by CR becomes CRLF), stateful across chunks. */
export class CrlfEncoder {
  private lastCr = false;
  push(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    // Count the bare LFs first: stored files have one per line, and one exact-size copy
    // costs far less than a subarray per line joined by Buffer.concat.
    let bare = 0;
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) {
      if (!(i > 0 ? chunk[i - 1] === 0x0d : this.lastCr)) bare++;
    }
    const lastCr = this.lastCr;
    this.lastCr = chunk[chunk.length - 1] === 0x0d;
    if (bare === 0) return chunk;
    const out = Buffer.allocUnsafe(chunk.length + bare);
    // Uint8Array set() on plain views: Buffer.copy() pays for argument checks on every line.
    const src = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
    let o = 0;
    let start = 0;
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) {
      if (i > 0 ? chunk[i - 1] === 0x0d : lastCr) continue;
      out.set(src.subarray(start, i), o);
      o += i - start;
      out[o++] = 0x0d;
      out[o++] = 0x0a;
      start = i + 1;
    }
    out.set(src.subarray(start), o);
    return out;
  }
  end(): Buffer {
    return Buffer.alloc(0);
  }
}

/** Whole-buffer convenience (tests, APPEND): scan stored bytes at once. */
export function scanBuffer(stored: Buffer): MimePart {
  const s = new MimeScanner();
  s.push(stored);
  return s.end();
}
