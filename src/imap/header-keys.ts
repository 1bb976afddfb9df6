// What SORT and THREAD compare, derived from a message's top-level header fields, and the
// collation they compare it with. Pure (no I/O). Each key is computed once per message
// version and kept (key-cache.ts), so a warm SORT or THREAD reads no header at all.
import { parseAddressList } from '../mime/address.js';
import { decodeHeaderValue, parseDate } from '../mime/decode.js';
import type { HeaderField } from '../mime/types.js';
import { baseSubject } from './base-subject.js';

/** i;ascii-casemap (RFC 4790 9.2): only ASCII letters are folded. */
export function casemap(s: string): string {
  return /[a-z]/.test(s) ? s.replace(/[a-z]+/g, (m) => m.toUpperCase()) : s;
}

/** Code point order (= UTF-8 octet order, what i;ascii-casemap compares) of two strings.
 *  JS's `<` compares UTF-16 code units, which puts U+E000..U+FFFF after the supplementary
 *  planes; this does not. */
export function compareText(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Surrogates (D800-DFFF) stand for code points above FFFF: move them above E000-FFFF.
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

/**
 * The msg-ids of a field, normalised (RFC 5256 4: `<"a.b"@x>` and `<a.b@x>` are the same id):
 * white space and comments dropped, a quoted local part unquoted. Anything outside angle
 * brackets is ignored (In-Reply-To often carries a phrase); `<>` is not an id.
 */
export function msgIds(value: string | undefined): string[] {
  if (value === undefined) return [];
  const out: string[] = [];
  for (const m of value.matchAll(/<([^<>]*)>/g)) {
    let id = m[1]!;
    if (/[\s()"]/.test(id)) {
      id = id.replace(/\([^()]*\)/g, '').replace(/[ \t\r\n]+/g, '');
      const at = id.lastIndexOf('@');
      const local = at >= 0 ? id.slice(0, at) : id;
      if (local.length >= 2 && local.startsWith('"') && local.endsWith('"')) id = local.slice(1, -1).replace(/\\(.)/g, '$1') + id.slice(at);
    }
    if (id !== '') out.push(id);
  }
  return out;
}

/** The keys SORT and THREAD compare, by name. */
interface KeyTypes {
  /** RFC 5256 2.2: the Date: field in UTC (ms); null when missing or unreadable (INTERNALDATE then). */
  date: number | null;
  /** RFC 5256 2.1: the base subject under i;ascii-casemap, and whether extraction found a reply or forward. */
  subject: { key: string; replyOrForward: boolean };
  /** RFC 5256 4 (1): the Message-ID, and References if it holds a valid id, else the first valid id of In-Reply-To. */
  threading: { messageId: string | null; references: string[] };
  /** RFC 5256 3: addr-mailbox of the first address, as ENVELOPE lists it (a group's name for a group). */
  'mailbox.from': string;
  'mailbox.to': string;
  'mailbox.cc': string;
  /** RFC 5957 3: the decoded display name of the first address if not empty, else mailbox@host, else the mailbox. */
  'display.from': string;
  'display.to': string;
}
export type KeyName = keyof KeyTypes;

/** One message's keys as far as they have been needed: plain data, kept by key-cache.ts.
 *  `fields`: SEARCH HEADER's folded values of a top-level field, by lower-case name;
 *  `sentDay`: what SENTBEFORE/ON/SINCE compare (search.ts sentDay()). */
export type DerivedKeys = { [K in KeyName]?: KeyTypes[K] } & { fields?: Map<string, readonly string[]>; sentDay?: string };

/** Whether `d` lacks any of `want` (then the message's header must be read). */
export function missing(d: DerivedKeys, want: readonly KeyName[]): boolean {
  for (const k of want) if (d[k] === undefined) return true;
  return false;
}

/** Computes the keys of `want` that `d` lacks from the message's top-level header fields. */
export function fillKeys(d: DerivedKeys, want: readonly KeyName[], headers: readonly HeaderField[]): void {
  const field = (key: string): string | undefined => {
    for (const h of headers) if (h.key === key) return h.value;
    return undefined;
  };
  const first = (key: string): ReturnType<typeof parseAddressList>[number] | undefined => {
    const v = field(key);
    return v === undefined ? undefined : parseAddressList(v)[0];
  };
  for (const k of want) {
    if (d[k] !== undefined) continue;
    switch (k) {
      case 'date': {
        const v = field('date');
        const t = v === undefined ? null : parseDate(v);
        d.date = t ? t.getTime() : null;
        break;
      }
      case 'subject': {
        const b = baseSubject(field('subject'));
        d.subject = { key: casemap(b.text), replyOrForward: b.replyOrForward };
        break;
      }
      case 'threading': {
        let references = msgIds(field('references'));
        if (references.length === 0) references = msgIds(field('in-reply-to')).slice(0, 1);
        d.threading = { messageId: msgIds(field('message-id'))[0] ?? null, references };
        break;
      }
      case 'mailbox.from':
      case 'mailbox.to':
      case 'mailbox.cc': {
        const a = first(k.slice(8));
        d[k] = a?.mailbox ? casemap(decodeHeaderValue(a.mailbox)) : '';
        break;
      }
      case 'display.from':
      case 'display.to': {
        const a = first(k.slice(8));
        const name = a?.name ? decodeHeaderValue(a.name) : '';
        let v: string;
        if (name !== '') v = name;
        else if (a?.mailbox != null && a.host !== null) v = decodeHeaderValue(`${a.mailbox}@${a.host}`);
        else v = a?.mailbox != null ? decodeHeaderValue(a.mailbox) : '';
        d[k] = casemap(v);
        break;
      }
    }
  }
}

/** The sent date (RFC 5256 2.2) from filled keys: INTERNALDATE when Date: gave none. */
export function sentDate(d: DerivedKeys, internalDate: Date): number {
  return d.date ?? internalDate.getTime();
}
