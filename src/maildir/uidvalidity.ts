// UIDVALIDITY for new mailboxes, shared with Dovecot through `dovecot-uidvalidity`
// in the user's Maildir root (Dovecot mailbox-uidvalidity.c): the file holds the last
// value handed out in hex, and a marker file `dovecot-uidvalidity.<hex>` is renamed
// forward atomically so two processes never hand out the same value.
import { readdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { atomicWrite, isErrno, readIfExists } from './fsutil.js';

const FILE = 'dovecot-uidvalidity';

export async function nextUidValidity(home: string): Promise<number> {
  const now = Math.floor(Date.now() / 1000);
  for (let attempt = 0; attempt < 10; attempt++) {
    const names = await readdir(home);
    const marker = names.find((n) => /^dovecot-uidvalidity\.[0-9a-f]{1,8}$/i.test(n));
    const stored = Number.parseInt((await readIfExists(path.join(home, FILE)))?.trim() ?? '', 16);
    let current = marker ? Number.parseInt(marker.slice(FILE.length + 1), 16) : 0;
    if (Number.isFinite(stored) && stored > current) current = stored;
    const next = current < now ? now : current + 1;
    const nextHex = (next >>> 0).toString(16).padStart(8, '0');
    const target = path.join(home, `${FILE}.${nextHex}`);
    try {
      if (marker) await rename(path.join(home, marker), target);
      else await writeFile(target, '', { flag: 'wx', mode: 0o444 });
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'EEXIST')) continue; // someone else took it: read again
      throw err;
    }
    await atomicWrite(path.join(home, FILE), nextHex);
    return next >>> 0;
  }
  // Contended ten times in a row: fall back to the clock, as Dovecot does.
  return now >>> 0;
}
