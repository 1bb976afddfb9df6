// Client flag names → what the store keeps. System flags are case-insensitive (RFC 3501
// 2.3.2); \Recent cannot be set by a client and is ignored; other backslash names are not flags.
import type { SystemFlag } from '../../maildir/types.js';
import { ImapBad } from '../errors.js';

const SYSTEM = new Map<string, SystemFlag>(
  (['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft'] as const).map((f) => [f.toLowerCase(), f]),
);

export function splitFlags(names: string[]): { flags: SystemFlag[]; keywords: string[] } {
  const flags = new Set<SystemFlag>();
  const keywords = new Set<string>();
  for (const n of names) {
    if (n.startsWith('\\')) {
      const sys = SYSTEM.get(n.toLowerCase());
      if (sys) flags.add(sys);
      else if (n.toLowerCase() !== '\\recent') throw new ImapBad(`Invalid system flag ${n}`);
    } else {
      // Keyword atoms are case-insensitive in comparisons; Dovecot keeps the spelling first used.
      if (!/^[\x21-\x7e]+$/.test(n) || /[(){%*"\\\]]/.test(n)) throw new ImapBad(`Invalid keyword ${JSON.stringify(n)}`);
      keywords.add(n);
    }
  }
  return { flags: [...flags], keywords: [...keywords] };
}
