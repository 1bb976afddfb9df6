// What SORT and THREAD compare, derived from a message's top-level header fields, and the
// collation they compare it with. Pure (no I/O).
//
// Derived keys are kept per header-field array in a WeakMap: the store's parsed-message
// cache hands out the same parsed structure for as long as it keeps it, so a warm SORT or
// THREAD over 10,000 messages parses no Date:, Subject: or address again, and the keys go
// when the cache lets the structure go.
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

export type AddressField = 'from' | 'to' | 'cc';

/** One message's keys, each computed on first use. */
export class HeaderKeys {
  private date: number | null | undefined;
  private subj: { key: string; replyOrForward: boolean } | undefined;
  private readonly mailboxes = new Map<AddressField, string>();
  private readonly displays = new Map<AddressField, string>();
  private ids: { messageId: string | null; references: string[] } | undefined;

  constructor(private readonly headers: readonly HeaderField[]) {}

  private field(key: string): string | undefined {
    for (const h of this.headers) if (h.key === key) return h.value;
    return undefined;
  }

  /** RFC 5256 2.2: the Date: field in UTC, INTERNALDATE when there is none or it cannot be read. */
  sentDate(internalDate: Date): number {
    if (this.date === undefined) {
      const v = this.field('date');
      const d = v === undefined ? null : parseDate(v);
      this.date = d ? d.getTime() : null;
    }
    return this.date ?? internalDate.getTime();
  }

  /** The base subject (RFC 5256 2.1) under i;ascii-casemap. */
  subject(): { key: string; replyOrForward: boolean } {
    if (!this.subj) {
      const b = baseSubject(this.field('subject'));
      this.subj = { key: casemap(b.text), replyOrForward: b.replyOrForward };
    }
    return this.subj;
  }

  /** RFC 5256 3: addr-mailbox of the first address, as ENVELOPE lists it (a group's name for a group). */
  mailbox(f: AddressField): string {
    let v = this.mailboxes.get(f);
    if (v === undefined) {
      const a = this.first(f);
      v = a?.mailbox ? casemap(decodeHeaderValue(a.mailbox)) : '';
      this.mailboxes.set(f, v);
    }
    return v;
  }

  /** RFC 5957 3: the decoded display name of the first address if not empty, else
   *  mailbox@host, else the mailbox, else "". */
  display(f: AddressField): string {
    let v = this.displays.get(f);
    if (v === undefined) {
      const a = this.first(f);
      const name = a?.name ? decodeHeaderValue(a.name) : '';
      if (name !== '') v = name;
      else if (a?.mailbox != null && a.host !== null) v = decodeHeaderValue(`${a.mailbox}@${a.host}`);
      else v = a?.mailbox != null ? decodeHeaderValue(a.mailbox) : '';
      v = casemap(v);
      this.displays.set(f, v);
    }
    return v;
  }

  private first(f: AddressField): ReturnType<typeof parseAddressList>[number] | undefined {
    const v = this.field(f);
    return v === undefined ? undefined : parseAddressList(v)[0];
  }

  /** RFC 5256 4 (1): the Message-ID, and References if it holds a valid id, else the first
   *  valid id of In-Reply-To. */
  threading(): { messageId: string | null; references: string[] } {
    if (!this.ids) {
      let references = msgIds(this.field('references'));
      if (references.length === 0) references = msgIds(this.field('in-reply-to')).slice(0, 1);
      this.ids = { messageId: msgIds(this.field('message-id'))[0] ?? null, references };
    }
    return this.ids;
  }
}

const memo = new WeakMap<readonly HeaderField[], HeaderKeys>();

export function headerKeys(headers: readonly HeaderField[]): HeaderKeys {
  let k = memo.get(headers);
  if (!k) memo.set(headers, (k = new HeaderKeys(headers)));
  return k;
}
