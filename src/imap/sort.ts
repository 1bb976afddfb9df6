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
import { compareText, type DerivedKeys, type KeyName, sentDate } from './header-keys.js';
import type { SortCriterion, SortKeyName } from './proto/types.js';

/** What a message contributes besides its headers. */
export interface SortMeta {
  seq: number;
  internalDate: Date;
  /** RFC822.SIZE. */
  size: number;
}

export type SortValue = number | string;

/** The header-derived key each sort key reads (ARRIVAL and SIZE read none). */
const KEY_OF: Record<SortKeyName, KeyName | null> = {
  ARRIVAL: null,
  SIZE: null,
  DATE: 'date',
  SUBJECT: 'subject',
  FROM: 'mailbox.from',
  TO: 'mailbox.to',
  CC: 'mailbox.cc',
  DISPLAYFROM: 'display.from',
  DISPLAYTO: 'display.to',
};

/** The header-derived keys the criteria need (empty: no header is read). */
export function sortKeyNames(criteria: readonly SortCriterion[]): KeyName[] {
  return [...new Set(criteria.map((c) => KEY_OF[c.key]).filter((k): k is KeyName => k !== null))];
}

/** One value per criterion, computed once per message; `d` holds sortKeyNames(criteria). */
export function sortValues(criteria: readonly SortCriterion[], meta: SortMeta, d: DerivedKeys): SortValue[] {
  return criteria.map(({ key }): SortValue => {
    switch (key) {
      case 'ARRIVAL':
        return meta.internalDate.getTime();
      case 'SIZE':
        return meta.size;
      case 'DATE':
        return sentDate(d, meta.internalDate);
      case 'SUBJECT':
        return d.subject!.key;
      default:
        return d[KEY_OF[key]!] as string;
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
  if (sign.length === 1) {
    // The usual case (Roundcube sorts on one key): no loop per comparison.
    const s0 = sign[0]!;
    return items.sort((a, b) => {
      const x = a.values[0]!;
      const y = b.values[0]!;
      const d = typeof x === 'number' ? x - (y as number) : compareText(x, y as string);
      return d !== 0 ? d * s0 : a.seq - b.seq;
    });
  }
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
