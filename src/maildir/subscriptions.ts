// The `subscriptions` file in the user's Maildir root. Dovecot 2.3 writes
// "V\t2\n\n" and then one name per line, levels in modified UTF-7 joined by TAB, so
// the file does not depend on the namespace separator (checked against Dovecot 2.3.19:
// subscribing "Archive/2024" writes "Archive\t2024"). It still reads the old format,
// one name per line with the namespace separator; we accept '.' and '/' there.
import { decodeMutf7, encodeMutf7 } from './utf7.js';
import { parseMailboxName } from './paths.js';

const HEADER = 'V\t2\n\n';

export function parseSubscriptions(text: string): string[] {
  const lines = text.split('\n');
  const v2 = lines[0] === 'V\t2';
  const names: string[] = [];
  const seen = new Set<string>();
  for (const line of v2 ? lines.slice(1) : lines) {
    if (line.length === 0) continue;
    const levels = v2 ? line.split('\t') : line.split(/[./]/);
    let name: string;
    try {
      name = parseMailboxName(levels.map(decodeMutf7).join('/')).name;
    } catch {
      continue; // a name we could not represent anyway
    }
    if (!seen.has(name)) {
      seen.add(name);
      names.push(name);
    }
  }
  return names;
}

export function serializeSubscriptions(names: Iterable<string>): string {
  let out = HEADER;
  for (const n of names) out += n.split('/').map(encodeMutf7).join('\t') + '\n';
  return out;
}
