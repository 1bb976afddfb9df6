// FETCH data items (RFC 3501 6.4.5, 7.4.2) for one message: names and values as ImapValues,
// body sections as streams of known length (never buffered whole).
import type { Readable } from 'node:stream';
import { bodyStructure, envelope } from '../mime/imap-structure.js';
import { sectionStream } from '../mime/load.js';
import { CrlfEncoder } from '../mime/scanner.js';
import { messageEnd, resolveSection } from '../mime/section.js';
import type { MimePart, SectionSource, SectionSpec, SValue } from '../mime/types.js';
import { binaryItem, binarySizeItem } from './binary.js';
import { serialize } from './proto/serializer.js';
import type { FetchAttr } from './proto/types.js';
import type { ImapValue } from './proto/values.js';

export interface FetchMessage {
  seq: number;
  uid: number;
  flags: string[]; // IMAP names incl. keywords and \Recent
  internalDate: Date;
  size: number; // RFC822.SIZE, the CRLF size
}

/** Up to this size a message is read whole for FETCH body sections and SEARCH BODY/TEXT
 *  (one read instead of a stream); bigger ones are streamed. */
export const SMALL_MESSAGE = 256 * 1024;

export interface MessageLoader {
  open(): Promise<Readable>; // stored bytes (LF) of the message, a fresh stream each call
  structure(): Promise<MimePart>; // parsed once per message per command; the session caches
  /** The stored bytes whole when small (one read, no stream); null: use open(). */
  readSmall?(): Promise<Buffer | null>;
}

/** The items inside `* n FETCH (...)`, in the requested order. Body sections become `stream`
 *  values (piped, never buffered whole). MODSEQ is left to the session (it owns modseqs);
 *  BINARY items decode the transfer encoding (binary.ts). */
export async function buildFetchItems(attrs: FetchAttr[], msg: FetchMessage, loader: MessageLoader): Promise<ImapValue[]> {
  const out: ImapValue[] = [];
  let root: MimePart | null = null;
  const structure = async (): Promise<MimePart> => (root ??= await loader.structure());
  // A small message is read once, whole, for all its body items: the response is then plain
  // bytes that join the command's write batch, instead of a file stream piped per section.
  let whole: Promise<Buffer | null> | null = null;
  const small = (): Promise<Buffer | null> => (whole ??= loader.readSmall ? loader.readSmall().then((b) => b && new CrlfEncoder().push(b)) : Promise.resolve(null));
  const section = async (src: SectionSource | null, partial?: { origin: number; count: number }): Promise<ImapValue> => {
    const bytes = src?.kind === 'range' ? await small() : null;
    return sectionValue(src, partial, loader, bytes);
  };
  for (const a of attrs) {
    switch (a.kind) {
      case 'UID':
      case 'FLAGS':
      case 'INTERNALDATE':
      case 'RFC822.SIZE':
        out.push(atom(a.kind), metadataValue(a.kind, msg));
        break;
      case 'ENVELOPE':
      case 'BODY':
      case 'BODYSTRUCTURE':
        out.push(atom(a.kind), derived(await structure(), a.kind));
        break;
      case 'RFC822':
      case 'RFC822.HEADER':
      case 'RFC822.TEXT': {
        const text = a.kind === 'RFC822' ? undefined : a.kind === 'RFC822.HEADER' ? 'HEADER' : 'TEXT';
        const src = resolveSection(await structure(), { part: [], text });
        out.push(atom(a.kind), await section(src));
        break;
      }
      case 'BODY[]': {
        const src = resolveSection(await structure(), a.section);
        const label = a.label ?? sectionLabel(a.section);
        const name = `BODY[${label.replace(/^\[|\]$/g, '')}]${a.partial ? `<${a.partial.origin}>` : ''}`;
        out.push({ t: 'raw', v: name }, await section(src, a.partial));
        break;
      }
      case 'BINARY[]':
        out.push(...(await binaryItem(await structure(), a.section, a.partial, loader)));
        break;
      case 'BINARY.SIZE':
        out.push(...(await binarySizeItem(await structure(), a.section, loader)));
        break;
      default:
        break; // MODSEQ: the session adds it (it owns modseqs)
    }
  }
  return out;
}

/** Items buildFetchItemsSync answers: metadata, and what the parsed structure alone gives. */
const SYNC_ITEMS = new Set<FetchAttr['kind']>(['UID', 'FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'MODSEQ', 'ENVELOPE', 'BODY', 'BODYSTRUCTURE']);

/** Whether every item can be built by buildFetchItemsSync (a message list's FETCH). */
export function syncFetchable(attrs: FetchAttr[]): boolean {
  return attrs.every((a) => SYNC_ITEMS.has(a.kind));
}

/** The items that come from the store's listing alone. */
function metadataValue(kind: 'UID' | 'FLAGS' | 'INTERNALDATE' | 'RFC822.SIZE', msg: FetchMessage): ImapValue {
  switch (kind) {
    case 'UID':
      return { t: 'number', v: msg.uid };
    case 'FLAGS':
      return { t: 'list', v: msg.flags.map(atom) };
    case 'INTERNALDATE':
      return { t: 'string', v: formatInternalDate(msg.internalDate) };
    case 'RFC822.SIZE':
      return { t: 'number', v: msg.size };
  }
}

/**
 * buildFetchItems without an await, for syncFetchable() items and `root` already in memory
 * (null when no item needs it): FETCH 1:* of a cached 10,000-message mailbox then costs no
 * promise per message. Same values, same order as buildFetchItems.
 */
export function buildFetchItemsSync(attrs: FetchAttr[], msg: FetchMessage, root: MimePart | null): ImapValue[] {
  const out: ImapValue[] = [];
  for (const a of attrs) {
    switch (a.kind) {
      case 'UID':
      case 'FLAGS':
      case 'INTERNALDATE':
      case 'RFC822.SIZE':
        out.push(atom(a.kind), metadataValue(a.kind, msg));
        break;
      case 'ENVELOPE':
      case 'BODY':
      case 'BODYSTRUCTURE':
        if (!root) throw new Error(`${a.kind} needs the structure`);
        out.push(atom(a.kind), derived(root, a.kind));
        break;
      case 'MODSEQ':
        break; // the session adds it (it owns modseqs)
      default:
        throw new Error(`${a.kind} is not built synchronously`);
    }
  }
  return out;
}

/**
 * ENVELOPE and BODY(STRUCTURE) values per parsed structure: the store's message cache hands
 * out the same MimePart object while it is cached, so a client that lists a big mailbox
 * again (every minute, for webmail) gets them without recomputing. Weak: they go with it.
 */
const derivedValues = new WeakMap<MimePart, Partial<Record<'ENVELOPE' | 'BODY' | 'BODYSTRUCTURE', ImapValue>>>();

function derived(root: MimePart, kind: 'ENVELOPE' | 'BODY' | 'BODYSTRUCTURE'): ImapValue {
  let m = derivedValues.get(root);
  if (!m) derivedValues.set(root, (m = {}));
  return (m[kind] ??= preformatted(toImap(kind === 'ENVELOPE' ? envelope(root) : bodyStructure(root, kind === 'BODYSTRUCTURE'))));
}

/**
 * The value already serialized, when its wire form is printable ASCII (no literal, no 8-bit
 * byte: then quoting does not depend on UTF8=ACCEPT either). Serializing an envelope costs
 * more than building it; this is what most messages' envelopes and structures look like.
 */
function preformatted(v: ImapValue): ImapValue {
  const chunks = serialize([v]);
  const b = chunks.length === 1 ? chunks[0] : undefined;
  if (!Buffer.isBuffer(b)) return v;
  for (const c of b) if (c < 0x20 || c > 0x7e) return v;
  return { t: 'raw', v: b.toString('latin1') };
}

/** RFC 3501 6.4.5: reading a body without .PEEK sets \Seen. */
export function impliesSeen(attrs: FetchAttr[]): boolean {
  return attrs.some((a) => a.kind === 'RFC822' || a.kind === 'RFC822.TEXT' || (a.kind === 'BODY[]' && !a.peek) || (a.kind === 'BINARY[]' && !a.peek));
}

/** Whether any item needs the parsed structure or the bytes. */
export function needsContent(attrs: FetchAttr[]): boolean {
  return attrs.some((a) => !['UID', 'FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'MODSEQ'].includes(a.kind));
}

/** The section text as RFC 3501's grammar spells it, for the response item name. */
export function sectionLabel(s: SectionSpec): string {
  const parts = s.part.join('.');
  const text = s.text ? s.text + (s.fields ? ` (${s.fields.map(astring).join(' ')})` : '') : '';
  return parts && text ? `${parts}.${text}` : parts + text;
}

function astring(s: string): string {
  return /^[!#$&'*+\-.0-9:<=>?@A-Z^_`a-z|~/]+$/.test(s) ? s : `"${s.replace(/(["\\])/g, '\\$1')}"`;
}

/** `whole`: the message in CRLF form when read whole (small messages), else null (stream it). */
function sectionValue(src: SectionSource | null, partial: { origin: number; count: number } | undefined, loader: MessageLoader, whole: Buffer | null = null): ImapValue {
  // A section that does not exist is answered as an empty string, as Dovecot does.
  if (!src) return { t: 'string', v: '' };
  if (src.kind === 'bytes') {
    let data = src.data;
    if (partial) data = data.subarray(Math.min(partial.origin, data.length), Math.min(data.length, partial.origin + partial.count));
    return data.length ? { t: 'literal', v: data } : { t: 'string', v: '' };
  }
  let { start, length } = src;
  if (partial) {
    // RFC 3501 6.4.5: <origin.count> returns at most count octets from origin; an origin
    // past the end gives an empty string.
    if (partial.origin >= length) return { t: 'string', v: '' };
    start += partial.origin;
    length = Math.min(partial.count, length - partial.origin);
  }
  if (length === 0) return { t: 'string', v: '' };
  if (whole) {
    const data = whole.subarray(Math.min(start, whole.length), Math.min(whole.length, start + length));
    // As the stream path does: a file shorter than its structure says is padded to the announced length.
    return { t: 'literal', v: data.length === length ? data : Buffer.concat([data, Buffer.alloc(length - data.length, 0x20)]) };
  }
  return { t: 'stream', length, open: () => sectionStream(() => loader.open(), start, length) };
}

function atom(v: string): ImapValue {
  return { t: 'atom', v };
}

/** SValue (binary strings of raw header bytes) → ImapValue; strings travel as bytes. */
export function toImap(v: SValue): ImapValue {
  if (v === null) return { t: 'nil' };
  if (typeof v === 'number') return { t: 'number', v };
  if (typeof v === 'string') return { t: 'string', v: Buffer.from(v, 'latin1') };
  if (Buffer.isBuffer(v)) return { t: 'string', v };
  return { t: 'list', v: v.map(toImap) };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 3501 date-time "dd-Mon-yyyy hh:mm:ss +zzzz" in the server's local zone. */
export function formatInternalDate(date: Date): string {
  // A store entry without a usable time must still give valid syntax.
  const d = Number.isFinite(date.getTime()) ? date : new Date(0);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  return `${p2(d.getDate())}-${MONTHS[d.getMonth()]}-${d.getFullYear()} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${sign}${p2(Math.floor(abs / 60))}${p2(abs % 60)}`;
}

/** Total CRLF size of a scanned message (RFC822.SIZE when the store has no W= size). */
export function messageSize(root: MimePart): number {
  return messageEnd(root);
}
