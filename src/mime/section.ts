// FETCH body sections (RFC 3501 6.4.5) → where their bytes come from. Pure.
import type { HeaderField, MimePart, SectionSource, SectionSpec } from './types.js';

/** Total CRLF size of a message (root) or encapsulated message. */
export function messageEnd(m: MimePart): number {
  return m.bodyStart + m.bodyLength;
}

/** The part a dotted number names, following RFC 3501 6.4.5: numbers index a multipart's
 *  children; a part that is not a multipart has one part, 1, itself (its body), which is how
 *  a non-multipart message's "1" is its body (Dovecot extends that to every leaf: "3.1" is
 *  part 3, but "3.1.1" does not exist); after a message/rfc822 part the numbers continue inside the encapsulated
 *  message. Null when it does not exist. */
export function findPart(root: MimePart, path: number[]): MimePart | null {
  let cur: MimePart = root;
  let self = false; // the last step was a leaf's "1": that part has no parts of its own
  for (let i = 0; i < path.length; i++) {
    const k = path[i]!;
    if (cur.contentType.type === 'multipart') {
      const c = k >= 1 ? cur.children[k - 1] : undefined;
      if (!c) return null;
      cur = c;
      self = false;
    } else if (k !== 1 || self) return null;
    else self = true;
    if (i < path.length - 1 && cur.message) {
      cur = cur.message;
      self = false;
    }
  }
  return cur;
}

export function resolveSection(root: MimePart, spec: SectionSpec): SectionSource | null {
  const part = spec.part.length === 0 ? root : findPart(root, spec.part);
  if (!part) return null;
  const range = (start: number, length: number): SectionSource => ({ kind: 'range', start, length });
  if (spec.text === 'MIME') {
    // RFC 3501 6.4.5: MIME is the part's own header; it needs a part number.
    if (spec.part.length === 0) return null;
    return range(part.headerStart, part.headerLength);
  }
  if (spec.text === undefined) {
    if (spec.part.length === 0) return range(root.headerStart, messageEnd(root) - root.headerStart);
    return range(part.bodyStart, part.bodyLength);
  }
  // HEADER, HEADER.FIELDS(.NOT), TEXT: of the message itself, or of an encapsulated message.
  const msg = spec.part.length === 0 ? root : part.message;
  if (!msg) return null;
  switch (spec.text) {
    case 'HEADER':
      return range(msg.headerStart, msg.headerLength);
    case 'TEXT':
      return range(msg.bodyStart, msg.bodyLength);
    case 'HEADER.FIELDS':
    case 'HEADER.FIELDS.NOT':
      return { kind: 'bytes', data: headerFields(msg.headers, spec.fields ?? [], spec.text === 'HEADER.FIELDS.NOT', msg.headerTerminated !== false) };
  }
  return null;
}

/** The chosen fields as written (folding kept), in message order, plus the empty line. */
export function headerFields(headers: HeaderField[], names: string[], not: boolean, terminated = true): Buffer {
  const want = new Set(names.map((n) => n.toLowerCase()));
  const out: Buffer[] = [];
  for (const h of headers) {
    if (want.has(h.key) !== not) {
      out.push(h.raw);

    }
  }
  // HEADER.FIELDS always ends with the empty line; HEADER.FIELDS.NOT is the header minus
  // some fields, so it has the empty line only when the header has one (as Dovecot answers).
  if (!not || terminated) out.push(CRLF);
  return Buffer.concat(out);
}

const CRLF = Buffer.from('\r\n');
