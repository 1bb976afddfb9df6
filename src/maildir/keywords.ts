// dovecot-keywords: one "<index> <keyword>" per line; index 0 is file-name letter 'a'.
// Maildir has 26 letters, so a mailbox holds at most 26 keywords (as in Dovecot).
import { StoreError } from './types.js';

export const MAX_KEYWORDS = 26;

export type KeywordTable = Array<string | undefined>;

export function parseKeywords(text: string): KeywordTable {
  const table: KeywordTable = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+) (.+)$/.exec(line);
    if (!m) continue;
    const idx = Number(m[1]);
    if (idx < MAX_KEYWORDS) table[idx] = m[2]!;
  }
  return table;
}

export function serializeKeywords(table: KeywordTable): string {
  let out = '';
  table.forEach((k, i) => {
    if (k !== undefined) out += `${i} ${k}\n`;
  });
  return out;
}

export function letterOf(index: number): string {
  return String.fromCharCode(0x61 + index);
}

export function keywordForLetter(table: KeywordTable, letter: string): string | undefined {
  return table[letter.charCodeAt(0) - 0x61];
}

/** Keyword → letter, case-insensitive as IMAP flags are (RFC 3501 2.3.2). */
export function letterForKeyword(table: KeywordTable, keyword: string): string | undefined {
  const want = keyword.toLowerCase();
  const idx = table.findIndex((k) => k !== undefined && k.toLowerCase() === want);
  return idx < 0 ? undefined : letterOf(idx);
}

/** Adds missing keywords in free slots; returns true when the table changed. Excess ones are dropped. */
export function addKeywords(table: KeywordTable, keywords: string[]): boolean {
  let changed = false;
  for (const k of keywords) {
    if (letterForKeyword(table, k) !== undefined) continue;
    let slot = -1;
    for (let i = 0; i < MAX_KEYWORDS; i++) {
      if (table[i] === undefined) {
        slot = i;
        break;
      }
    }
    if (slot < 0) return changed;
    table[slot] = k;
    changed = true;
  }
  return changed;
}

// RFC 3501 9: flag-keyword = atom; atom-specials are "(){ %*\"\\]" and controls.
const ATOM = /^[^(){ %*"\\\]\u0000-\u001f\u007f-\uffff]+$/;

export function validateKeyword(k: string): string {
  if (typeof k !== 'string' || k.length === 0 || k.length > 200 || !ATOM.test(k)) {
    throw new StoreError('invalid-name', 'invalid keyword');
  }
  return k;
}
