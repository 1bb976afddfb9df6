// Special-use attributes given at CREATE (RFC 6154 3, CREATE-SPECIAL-USE), kept in our own
// file `mailserver-special-use` in the user's Maildir root, beside `subscriptions`.
//
// Why our own file: Dovecot keeps a CREATE-SPECIAL-USE attribute only as the mailbox
// METADATA entry /private/specialuse, and only when imap_metadata and a mail_attribute_dict
// are configured (its default is neither); the special use of the default folders comes from
// its configuration by name, as ours does (folders.ts). So there is no Dovecot file to share,
// and a Dovecot reading this Maildir simply ignores ours (it lists no folder for it: the
// name does not start with '.').
//
// Format, in the style of Dovecot's subscriptions file: "V\t1\n\n", then one line per
// mailbox: the attribute, TAB, the name's levels in modified UTF-7 joined by TAB.
import path from 'node:path';
import { atomicWrite, readIfExists } from './fsutil.js';
import { withDotlock } from './lock.js';
import { parseMailboxName } from './paths.js';
import type { SpecialUse } from './types.js';
import { decodeMutf7, encodeMutf7 } from './utf7.js';

export const SPECIAL_USE_FILE = 'mailserver-special-use';
const HEADER = 'V\t1\n\n';
const USES = new Set<string>(['\\Drafts', '\\Sent', '\\Junk', '\\Trash', '\\Archive']);

export function isSpecialUse(s: string): s is SpecialUse {
  return USES.has(s);
}

export function parseSpecialUse(text: string): Map<string, SpecialUse> {
  const out = new Map<string, SpecialUse>();
  const lines = text.split('\n');
  if (lines[0] !== 'V\t1') return out;
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const [use, ...levels] = line.split('\t');
    if (!use || !isSpecialUse(use) || levels.length === 0) continue;
    try {
      out.set(parseMailboxName(levels.map(decodeMutf7).join('/')).name, use);
    } catch {
      // a name we could not represent: skip the line, keep the rest
    }
  }
  return out;
}

export function serializeSpecialUse(map: Map<string, SpecialUse>): string {
  let out = HEADER;
  for (const [name, use] of map) out += `${use}\t${name.split('/').map(encodeMutf7).join('\t')}\n`;
  return out;
}

export async function readSpecialUse(home: string): Promise<Map<string, SpecialUse>> {
  const text = await readIfExists(path.join(home, SPECIAL_USE_FILE));
  return text === null ? new Map() : parseSpecialUse(text);
}

/** Read-modify-write under a dotlock, as for subscriptions; `fn` returns false for "no change". */
export async function updateSpecialUse(home: string, fn: (map: Map<string, SpecialUse>) => boolean): Promise<void> {
  const file = path.join(home, SPECIAL_USE_FILE);
  await withDotlock(file, async () => {
    const map = await readSpecialUse(home);
    if (fn(map)) await atomicWrite(file, serializeSpecialUse(map));
  });
}

/** After RENAME: entries of the folder and its inferiors follow it (RFC 3501 6.3.5). */
export function renameSpecialUse(map: Map<string, SpecialUse>, renames: Array<[string, string]>): boolean {
  let changed = false;
  for (const [from, to] of renames) {
    const use = map.get(from);
    if (use) {
      map.delete(from);
      map.set(to, use);
      changed = true;
    }
  }
  return changed;
}
