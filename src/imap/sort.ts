// SORT keys and ordering (RFC 5256 3, RFC 5957 for DISPLAYFROM/DISPLAYTO). Pure: the
// command (commands/sort.ts) loads each message's top-level header fields once, turns them
// into one value per sort criterion here, and sorts those values — a comparison never parses
// a header.
//
// Rules (RFC 5256 3):
// - strings compare with the i;ascii-casemap collation (RFC 4790 9.2): a-z map to A-Z,
//   then octet order of the UTF-8 text, which is code point order;
// - FROM/TO/CC: the addr-mailbox of the first address ([IMAP] ENVELOPE terms, so a group's
//   name for a group), "" when the field is missing;
// - DATE: the sent date (2.2), INTERNALDATE when Date: is missing or unreadable;
// - REVERSE turns one criterion around; messages equal on every criterion keep sequence
//   number order (REVERSE does not apply to that last tie-break).
import { parseAddressList } from '../mime/address.js';
import { decodeHeaderValue, parseDate } from '../mime/decode.js';
import type { HeaderField } from '../mime/types.js';
import { baseSubject } from './base-subject.js';
import type { SortCriterion, SortKeyName } from './proto/types.js';

/** i;ascii-casemap (RFC 4790 9.2): only ASCII letters are folded. */
export function casemap(s: string): string {
  return /[a-z]/.test(s) ? s.replace(/[a-z]+/g, (m) => m.toUpperCase()) : s;
}

/** Code point order (= UTF-8 octet order) of two strings. JS's `<` compares UTF-16 code units,
 *  which puts U+E000..U+FFFF after the supplementary planes; this does not. */
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

/** What a message contributes besides its headers. */
export interface SortMeta {
  seq: number;
  internalDate: Date;
  /** RFC822.SIZE. */
  size: number;
}

export type SortValue = number | string;

const HEADER_KEYS: ReadonlySet<SortKeyName> = new Set<SortKeyName>(['CC', 'DATE', 'FROM', 'SUBJECT', 'TO', 'DISPLAYFROM', 'DISPLAYTO']);

/** Whether any criterion needs the message's header (ARRIVAL and SIZE do not). */
export function sortNeedsHeaders(criteria: readonly SortCriterion[]): boolean {
  return criteria.some((c) => HEADER_KEYS.has(c.key));
}

function field(headers: readonly HeaderField[] | null, key: string): string | undefined {
  return headers?.find((h) => h.key === key)?.value;
}

/** RFC 5256 2.2: the Date: field in UTC, INTERNALDATE when there is none or it cannot be read. */
export function sentDate(headers: readonly HeaderField[] | null, internalDate: Date): number {
  const v = field(headers, 'date');
  const d = v === undefined ? null : parseDate(v);
  return d ? d.getTime() : internalDate.getTime();
}

/** RFC 5256 3: addr-mailbox of the first address, as ENVELOPE would list it. */
function firstMailbox(value: string | undefined): string {
  if (value === undefined) return '';
  const a = parseAddressList(value)[0];
  return a?.mailbox ? casemap(decodeHeaderValue(a.mailbox)) : '';
}

/** RFC 5957 3: the decoded display name of the first address if not empty, else
 *  mailbox@host, else the mailbox, else "". */
function firstDisplay(value: string | undefined): string {
  if (value === undefined) return '';
  const a = parseAddressList(value)[0];
  if (!a) return '';
  const name = a.name === null ? '' : decodeHeaderValue(a.name);
  if (name !== '') return casemap(name);
  if (a.mailbox !== null && a.host !== null) return casemap(decodeHeaderValue(`${a.mailbox}@${a.host}`));
  return a.mailbox !== null ? casemap(decodeHeaderValue(a.mailbox)) : '';
}

/** One value per criterion, computed once per message. `headers` may be null only when
 *  sortNeedsHeaders() is false. */
export function sortValues(criteria: readonly SortCriterion[], meta: SortMeta, headers: readonly HeaderField[] | null): SortValue[] {
  return criteria.map(({ key }): SortValue => {
    switch (key) {
      case 'ARRIVAL':
        return meta.internalDate.getTime();
      case 'SIZE':
        return meta.size;
      case 'DATE':
        return sentDate(headers, meta.internalDate);
      case 'SUBJECT':
        return casemap(baseSubject(field(headers, 'subject')).text);
      case 'FROM':
        return firstMailbox(field(headers, 'from'));
      case 'TO':
        return firstMailbox(field(headers, 'to'));
      case 'CC':
        return firstMailbox(field(headers, 'cc'));
      case 'DISPLAYFROM':
        return firstDisplay(field(headers, 'from'));
      case 'DISPLAYTO':
        return firstDisplay(field(headers, 'to'));
    }
  });
}

export interface Sortable {
  seq: number;
  values: SortValue[];
}

/** Sorts in place and returns the array. */
export function sortMessages<T extends Sortable>(items: T[], criteria: readonly SortCriterion[]): T[] {
  const sign = criteria.map((c) => (c.reverse ? -1 : 1));
  return items.sort((a, b) => {
    for (let i = 0; i < sign.length; i++) {
      const x = a.values[i]!;
      const y = b.values[i]!;
      const d = typeof x === 'number' ? x - (y as number) : compareText(x, y as string);
      if (d !== 0) return d * sign[i]!;
    }
    return a.seq - b.seq;
  });
}
