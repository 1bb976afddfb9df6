// The contract between the pure MIME parser (this folder) and the protocols that serve
// messages (IMAP FETCH/SEARCH, later SORT/THREAD and display). Pure data, no I/O.
//
// Coordinates: every offset and length is in the message's CRLF form, the bytes IMAP counts
// and serves (the store keeps LF line ends, as Dovecot does; each stored LF not preceded by
// CR is served as CRLF). `CrlfEncoder` turns stored bytes into that form, so a session can
// stream the file through it and cut out [start, start + length) without holding the message.

/** A value as IMAP writes it inside ENVELOPE and BODYSTRUCTURE: NIL, a number, a string
 *  (quoted or literal, the serializer decides) or a parenthesised list. */
export type SValue = null | number | string | Buffer | SValue[];

export interface HeaderField {
  /** Field name as written. */
  name: string;
  /** Lower-case name, for lookups. */
  key: string;
  /** The whole field as it appears (name, colon, folded value) with CRLF line ends, ending in CRLF. */
  raw: Buffer;
  /** The value unfolded (CRLF+WSP → WSP), undecoded, as a latin1-safe binary string of the raw bytes. */
  value: string;
}

export interface ContentType {
  type: string; // lower-case, e.g. 'text'; defaults per RFC 2045 5.2 when missing or broken
  subtype: string; // lower-case, e.g. 'plain'
  /** Parameters with lower-case names, RFC 2231 continuations/charsets already joined and decoded. */
  params: Record<string, string>;
}

export interface MimePart {
  /** IMAP part number path: [] for the top level, [2, 1] for part 2.1. */
  path: number[];
  /** Header block including the empty line that ends it (HEADER / MIME sections). */
  headerStart: number;
  headerLength: number;
  /** False when the header block has no terminating empty line (truncated or header-only
   *  message): HEADER.FIELDS then has no empty line either, as Dovecot answers. */
  headerTerminated?: boolean;
  /** Body (TEXT section of a message; the part's content otherwise). */
  bodyStart: number;
  bodyLength: number;
  /** Lines in the body (BODYSTRUCTURE of text/* and message/rfc822). */
  bodyLines: number;
  /** Header fields of this part (capped: a pathological header does not grow memory without bound). */
  headers: HeaderField[];
  contentType: ContentType;
  /** Lower-case Content-Transfer-Encoding, '7bit' when missing. */
  encoding: string;
  disposition: { type: string; params: Record<string, string> } | null;
  /** Sub-parts of a multipart, in order (empty otherwise). */
  children: MimePart[];
  /** The encapsulated message of a message/rfc822 (or message/global) part. */
  message: MimePart | null;
}

/** A body section as FETCH names it (RFC 3501 6.4.5): `part` is the dotted number path. */
export interface SectionSpec {
  part: number[];
  text?: 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';
  /** Field names for HEADER.FIELDS(.NOT), as the client wrote them. */
  fields?: string[];
}

/** Where a section's bytes come from: a range of the CRLF form, or bytes built from headers. */
export type SectionSource = { kind: 'range'; start: number; length: number } | { kind: 'bytes'; data: Buffer };

/** RFC 5322 address as IMAP's ENVELOPE lists it; group syntax uses mailbox/host null markers. */
export interface EnvelopeAddress {
  name: string | null;
  /** Obsolete source route ("@a,@b") of a route address, as Dovecot reports it; usually null. */
  adl: string | null;
  mailbox: string | null;
  host: string | null;
}
