// Maildir file names as Dovecot 2.3 writes them:
//   <secs>.M<usecs>P<pid>.<host>,S=<size>,W=<vsize>:2,<flags>
// The part before ':' (the base name) is what dovecot-uidlist records; the info part
// after ':2,' carries the flags and keyword letters and changes by rename.
import type { SystemFlag } from './types.js';

export const INFO_SEPARATOR = ':2,';

/** Maildir flag letters (cr.yp.to/proto/maildir.html); 'P' (passed) has no IMAP flag. */
const FLAG_LETTERS: ReadonlyArray<[string, SystemFlag]> = [
  ['D', '\\Draft'],
  ['F', '\\Flagged'],
  ['R', '\\Answered'],
  ['S', '\\Seen'],
  ['T', '\\Deleted'],
];
const LETTER_TO_FLAG = new Map(FLAG_LETTERS);
const FLAG_TO_LETTER = new Map(FLAG_LETTERS.map(([l, f]) => [f, l]));

export interface ParsedFileName {
  fileName: string;
  baseName: string;
  /** Characters after ':2,' (null when the file has no info part, as in new/). */
  info: string | null;
  size?: number;
  vsize?: number;
  /** Seconds field, the delivery time. */
  secs?: number;
}

export function parseFileName(fileName: string): ParsedFileName {
  const colon = fileName.indexOf(':');
  const baseName = colon < 0 ? fileName : fileName.slice(0, colon);
  let info: string | null = null;
  if (colon >= 0) {
    const rest = fileName.slice(colon + 1);
    info = rest.startsWith('2,') ? rest.slice(2) : null;
  }
  const out: ParsedFileName = { fileName, baseName, info };
  // Dovecot reads ,S= and ,W= from the comma-separated fields after the unique part.
  for (const field of baseName.split(',').slice(1)) {
    const m = /^([SW])=(\d+)$/.exec(field);
    if (!m) continue;
    if (m[1] === 'S') out.size = Number(m[2]);
    else out.vsize = Number(m[2]);
  }
  const secs = /^(\d+)\./.exec(baseName);
  if (secs) out.secs = Number(secs[1]);
  return out;
}

/** Dovecot escapes '/' and ':' in the host part so it cannot break the name. */
export function escapeHost(host: string): string {
  return host.replace(/\//g, '\\057').replace(/:/g, '\\072');
}

export interface UniqueParts {
  secs: number;
  usecs: number;
  pid: number;
  host: string;
}

export function buildUnique(p: UniqueParts): string {
  return `${p.secs}.M${p.usecs}P${p.pid}.${escapeHost(p.host)}`;
}

export function buildBaseName(unique: string, size: number, vsize: number): string {
  return `${unique},S=${size},W=${vsize}`;
}

/** Full file name for cur/: base plus sorted info letters (Dovecot sorts: D F R S T, then a-z). */
export function buildFileName(baseName: string, info: string | null): string {
  return info === null ? baseName : `${baseName}${INFO_SEPARATOR}${sortInfo(info)}`;
}

export function sortInfo(info: string): string {
  return [...new Set(info)].sort().join('');
}

export interface InfoFlags {
  flags: SystemFlag[];
  keywordLetters: string[];
  /** Letters we do not map (e.g. 'P'); preserved across flag changes. */
  other: string;
}

export function infoToFlags(info: string | null): InfoFlags {
  const flags: SystemFlag[] = [];
  const keywordLetters: string[] = [];
  let other = '';
  for (const ch of info ?? '') {
    const f = LETTER_TO_FLAG.get(ch);
    if (f) flags.push(f);
    else if (ch >= 'a' && ch <= 'z') keywordLetters.push(ch);
    else other += ch;
  }
  return { flags, keywordLetters, other };
}

export function flagsToInfo(flags: Iterable<SystemFlag>, keywordLetters: Iterable<string>, other = ''): string {
  let s = other;
  for (const f of flags) s += FLAG_TO_LETTER.get(f) ?? '';
  for (const k of keywordLetters) s += k;
  return sortInfo(s);
}

/** Order system flags the way IMAP clients usually see them. */
export function sortFlags(flags: Iterable<SystemFlag>): SystemFlag[] {
  const order: SystemFlag[] = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];
  const set = new Set(flags);
  return order.filter((f) => set.has(f));
}

export function isSystemFlag(s: string): s is SystemFlag {
  return FLAG_TO_LETTER.has(s as SystemFlag);
}
