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
// The keys themselves are header-keys.ts's.
import type { HeaderField } from '../mime/types.js';
import { compareText, headerKeys } from './header-keys.js';
import type { SortCriterion, SortKeyName } from './proto/types.js';

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

/** One value per criterion, computed once per message. `headers` may be null only when
 *  sortNeedsHeaders() is false. */
export function sortValues(criteria: readonly SortCriterion[], meta: SortMeta, headers: readonly HeaderField[] | null): SortValue[] {
  const k = headers ? headerKeys(headers) : null;
  return criteria.map(({ key }): SortValue => {
    switch (key) {
      case 'ARRIVAL':
        return meta.internalDate.getTime();
      case 'SIZE':
        return meta.size;
      case 'DATE':
        return k!.sentDate(meta.internalDate);
      case 'SUBJECT':
        return k!.subject().key;
      case 'FROM':
        return k!.mailbox('from');
      case 'TO':
        return k!.mailbox('to');
      case 'CC':
        return k!.mailbox('cc');
      case 'DISPLAYFROM':
        return k!.display('from');
      case 'DISPLAYTO':
        return k!.display('to');
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
