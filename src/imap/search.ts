// SEARCH key evaluation for one message (RFC 3501 6.4.4). Cheap keys (flags, numbers,
// sizes, internal date) run before keys that parse headers, and those before keys that
// read and decode the body, with AND/OR short-circuiting, so a search such as
// `UNSEEN FROM x` never opens the file of a message that is already seen.
import type { Readable } from 'node:stream';
import { decodeHeaderValue, parseDateParts } from '../mime/decode.js';
import { findInBody, foldText } from '../mime/text-search.js';
import type { MimePart } from '../mime/types.js';
import type { FetchMessage, MessageLoader } from './fetch.js';
import type { SearchKey, SequenceSet } from './proto/types.js';

export interface SearchContext {
  maxSeq: number;
  maxUid: number;
  /** RFC 3501 SEARCH CHARSET decides how the client's strings were given; they arrive as UTF-8 JS strings. */
}

export interface SearchMessage extends FetchMessage {
  recent: boolean;
  /** CONDSTORE (RFC 7162) MODSEQ search; keys on modseq never match when absent. */
  modseq?: bigint;
}

/** Evaluation cost: 0 metadata, 1 headers (parsed structure), 2 body bytes. */
function cost(key: SearchKey): number {
  switch (key.kind) {
    case 'header':
    case 'sentdate':
      return 1;
    case 'body':
    case 'text':
      return 2;
    case 'not':
      return cost(key.key);
    case 'or':
      return Math.max(cost(key.a), cost(key.b));
    case 'and':
      return key.keys.reduce((m, k) => Math.max(m, cost(k)), 0);
    default:
      return 0;
  }
}

export function searchNeedsContent(key: SearchKey): boolean {
  return cost(key) > 0;
}

/** Lazily loaded content shared by all keys of one evaluation. */
class Content {
  private root: MimePart | null = null;
  private bodyHits: Promise<Set<string>> | null = null;
  constructor(
    private readonly loader: MessageLoader,
    private readonly needles: string[],
  ) {}
  async structure(): Promise<MimePart> {
    return (this.root ??= await this.loader.structure());
  }
  /** One pass over the body answers every BODY/TEXT string of the search at once. */
  async bodyHas(needle: string): Promise<boolean> {
    const open = async (): Promise<Readable | Buffer> => (await this.loader.readSmall?.()) ?? this.loader.open();
    this.bodyHits ??= this.structure().then((root) => findInBody(open, root, this.needles));
    return (await this.bodyHits).has(needle);
  }
}

export async function matchSearch(key: SearchKey, msg: SearchMessage, loader: MessageLoader, ctx: SearchContext, needles = searchNeedles(key)): Promise<boolean> {
  return evaluate(key, msg, new Content(loader, needles), ctx);
}

/** The folded BODY/TEXT strings of `key`, for matchSearch (once per command, not per message). */
export function searchNeedles(key: SearchKey): string[] {
  const needles = new Set<string>();
  collectNeedles(key, needles);
  return [...needles];
}

function collectNeedles(key: SearchKey, out: Set<string>): void {
  if (key.kind === 'body' || key.kind === 'text') out.add(foldText(key.value));
  else if (key.kind === 'not') collectNeedles(key.key, out);
  else if (key.kind === 'or') {
    collectNeedles(key.a, out);
    collectNeedles(key.b, out);
  } else if (key.kind === 'and') key.keys.forEach((k) => collectNeedles(k, out));
}

async function evaluate(key: SearchKey, msg: SearchMessage, c: Content, ctx: SearchContext): Promise<boolean> {
  switch (key.kind) {
    case 'sentdate':
      return sentDateMatches(await c.structure(), key.date, key.op);
    case 'header':
      return headerMatches(await c.structure(), key.field, key.value);
    case 'body':
      return c.bodyHas(foldText(key.value));
    case 'text': {
      // TEXT: the header and the body; like Dovecot, the headers of MIME parts and of
      // attached messages count as text too (BODY skips them).
      const needle = foldText(key.value);
      if (foldedHeaderText(await c.structure()).includes(needle)) return true;
      return c.bodyHas(needle);
    }
    case 'not':
      return !(await evaluate(key.key, msg, c, ctx));
    case 'or': {
      const [a, b] = cost(key.a) <= cost(key.b) ? [key.a, key.b] : [key.b, key.a];
      return (await evaluate(a, msg, c, ctx)) || evaluate(b, msg, c, ctx);
    }
    case 'and': {
      const keys = [...key.keys].sort((x, y) => cost(x) - cost(y));
      for (const k of keys) if (!(await evaluate(k, msg, c, ctx))) return false;
      return true;
    }
    default:
      return metaMatches(key, msg, ctx);
  }
}

/** What a warm search knows of one message's header without I/O or await. */
export interface HeaderSource {
  /** fieldValues() of top-level field `key` (lower-case), or undefined when not at hand. */
  values(key: string): readonly string[] | undefined;
  /** sentDay() of the message, or undefined when not at hand. */
  sentDay(): string | undefined;
}

/** The decoded, folded values of every top-level field named `key` (lower-case), in order. */
export function fieldValues(root: MimePart, key: string): string[] {
  const out: string[] = [];
  for (const h of root.headers) if (h.key === key) out.push(folded(h));
  return out;
}

/**
 * The same evaluation without an await, for what is known of the message without I/O
 * (`hs`, null when nothing is): SEARCH HEADER over 10,000 cached messages then costs no
 * promise per key and message. Returns undefined when the key needs what is not at hand
 * (body bytes for BODY/TEXT, or the header): the caller takes matchSearch.
 */
export function matchSearchSync(key: SearchKey, msg: SearchMessage, hs: HeaderSource | null, ctx: SearchContext): boolean | undefined {
  switch (key.kind) {
    case 'header': {
      const vals = hs?.values(key.field.toLowerCase());
      if (vals === undefined) return undefined;
      const needle = foldText(key.value);
      return needle === '' ? vals.length > 0 : vals.some((v) => v.includes(needle));
    }
    case 'sentdate': {
      const day = hs?.sentDay();
      return day === undefined ? undefined : compareDay(day, key.date, key.op);
    }
    case 'body':
    case 'text':
      return undefined;
    case 'not': {
      const r = matchSearchSync(key.key, msg, hs, ctx);
      return r === undefined ? undefined : !r;
    }
    case 'or': {
      const [a, b] = cost(key.a) <= cost(key.b) ? [key.a, key.b] : [key.b, key.a];
      const x = matchSearchSync(a, msg, hs, ctx);
      if (x === undefined) return undefined;
      return x || matchSearchSync(b, msg, hs, ctx);
    }
    case 'and': {
      // Cheapest first, as evaluate(); a key that cannot be decided here leaves it to that.
      const keys = key.keys.length > 1 ? [...key.keys].sort((x, y) => cost(x) - cost(y)) : key.keys;
      for (const k of keys) {
        const r = matchSearchSync(k, msg, hs, ctx);
        if (r !== true) return r;
      }
      return true;
    }
    default:
      return metaMatches(key, msg, ctx);
  }
}

/** Keys on what the listing knows (flags, numbers, dates, sizes): cost 0. */
function metaMatches(key: SearchKey, msg: SearchMessage, ctx: SearchContext): boolean {
  switch (key.kind) {
    case 'all':
      return true;
    case 'seqset':
      return inSet(msg.seq, key.set, ctx.maxSeq);
    case 'uid':
      return inSet(msg.uid, key.set, ctx.maxUid);
    case 'flag':
      return hasFlag(msg, key.flag) === key.set;
    case 'new':
      return msg.recent && !hasFlag(msg, '\\Seen');
    case 'old':
      return !msg.recent;
    case 'recent':
      return msg.recent === key.set;
    case 'size':
      return key.op === 'larger' ? msg.size > key.n : msg.size < key.n;
    case 'internaldate':
      return compareDay(localDay(msg.internalDate), key.date, key.op);
    case 'modseq':
      return msg.modseq !== undefined && msg.modseq >= key.n;
    default:
      throw new Error(`not a metadata key: ${key.kind}`);
  }
}

/** RFC 3501 6.4.4: the Date: header's date, disregarding time and timezone. Without a
 *  readable Date: header the message counts as sent on 1 Jan 1970, as in Dovecot. */
function sentDateMatches(root: MimePart, date: string, op: 'before' | 'on' | 'since'): boolean {
  return compareDay(sentDay(root), date, op);
}

/** The sent day as SENTBEFORE/ON/SINCE compare it: `YYYY-MM-DD`. */
export function sentDay(root: MimePart): string {
  const f = root.headers.find((h) => h.key === 'date');
  const p = f ? parseDateParts(f.value) : null;
  return p ? `${p.year}-${pad(p.month)}-${pad(p.day)}` : '1970-01-01';
}

/** RFC 3501 6.4.4 HEADER: substring of the decoded value, case-insensitive; an empty string
 *  matches every message that has the field. FROM/TO/… arrive here as their header names. */
function headerMatches(root: MimePart, field: string, value: string): boolean {
  const key = field.toLowerCase();
  const needle = foldText(value);
  return root.headers.some((h) => h.key === key && (needle === '' || folded(h).includes(needle)));
}

/**
 * A header's decoded, folded value, kept per field: the store's message cache hands out the
 * same parsed structure for as long as it is cached, so repeated searches of a big mailbox
 * (webmail searching on every keystroke) skip RFC 2047 decoding and NFKC folding.
 */
const foldedValues = new WeakMap<MimePart['headers'][number], string>();

function folded(h: MimePart['headers'][number]): string {
  let v = foldedValues.get(h);
  if (v === undefined) foldedValues.set(h, (v = foldText(decodeHeaderValue(h.value))));
  return v;
}

/**
 * Every header of the message and its parts as `Name: decoded value` lines, folded, joined
 * by NUL (which no search string can hold, so no match spans two fields); kept per parsed
 * structure like folded(): SEARCH TEXT looks at every header of every message.
 */
const headerTexts = new WeakMap<MimePart, string>();

function foldedHeaderText(root: MimePart): string {
  let v = headerTexts.get(root);
  if (v === undefined) headerTexts.set(root, (v = allHeaders(root).map((h) => foldText(`${h.name}: ${decodeHeaderValue(h.value)}`)).join('\0')));
  return v;
}

function allHeaders(root: MimePart): MimePart['headers'] {
  const out: MimePart['headers'] = [];
  const walk = (p: MimePart): void => {
    out.push(...p.headers);
    p.children.forEach(walk);
    if (p.message) walk(p.message);
  };
  walk(root);
  return out;
}

function hasFlag(msg: FetchMessage, flag: string): boolean {
  const f = flag.toLowerCase();
  return msg.flags.some((x) => x.toLowerCase() === f);
}

function inSet(n: number, set: SequenceSet, max: number): boolean {
  // '$' (SEARCHRES) must be replaced by the session with the saved result before evaluation.
  if (set === '$') return false;
  for (const r of set) {
    const a = r.from === '*' ? max : r.from;
    const b = r.to === '*' ? max : r.to;
    if (n >= Math.min(a, b) && n <= Math.max(a, b)) return true;
  }
  return false;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** The internal date's day in the server's zone (RFC 3501 leaves the zone to the server). */
function localDay(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function compareDay(day: string, key: string, op: 'before' | 'on' | 'since'): boolean {
  if (op === 'before') return day < key;
  if (op === 'on') return day === key;
  return day >= key;
}
