// A consistent copy of the Maildir tree while the daemon runs, without stopping it.
// Maildir message files never change after delivery; only their names do (flag changes
// rename within cur/, new→cur moves, expunge unlinks). So: hard-link every message into a
// staging tree (cheap, same file system), and when a name has vanished between readdir and
// link, look for the same base name in cur/ and new/ again (the re-check); a message gone
// from both was expunged. The small metadata files (dovecot-uidlist, dovecot-keywords,
// subscriptions, maildirsize) are replaced by rename, never written in place, so copying
// them reads one whole version; each mailbox's uidlist is copied AFTER its messages were
// linked, so every linked message that had a UID still has its record.
import { copyFile, link, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { CACHE_FILE } from '../maildir/message-cache.js';
import { MODSEQ_FILE } from '../maildir/modseq.js';
import { isErrno } from '../maildir/fsutil.js';

export interface SnapshotCounts {
  messages: number;
  mailboxes: number;
  users: number;
}

// Dovecot's own index files are caches it rebuilds; locks belong to live processes.
// Indexes that are rebuilt from the Maildir: Dovecot's, our parsed-message cache, and our
// modseq journal (a restored folder gets fresh modseqs above any a client has seen;
// restoring an old journal could move HIGHESTMODSEQ backwards, which RFC 7162 forbids).
const SKIP = (name: string) =>
  name.endsWith('.lock') ||
  name.startsWith('dovecot.index') ||
  name.startsWith('dovecot.list.index') ||
  name === CACHE_FILE ||
  name === MODSEQ_FILE;

async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (err) {
    if (!isErrno(err, 'EXDEV', 'EPERM')) throw err;
    await copyFile(from, to);
  }
}

const baseOf = (name: string) => {
  const c = name.indexOf(':');
  return c < 0 ? name : name.slice(0, c);
};

/** Links one message; on ENOENT finds its new name (renamed by a flag change or new→cur). */
async function snapMessage(mailbox: string, sub: string, name: string, dest: string): Promise<number> {
  const want = baseOf(name);
  let from = path.join(mailbox, sub, name);
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await linkOrCopy(from, path.join(dest, path.basename(from)));
      return 1;
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
    let found: string | null = null;
    for (const d of ['cur', 'new']) {
      const names = await readdir(path.join(mailbox, d)).catch(() => [] as string[]);
      const hit = names.find((n) => baseOf(n) === want);
      if (hit) {
        found = path.join(mailbox, d, hit);
        dest = path.join(path.dirname(dest), d);
        break;
      }
    }
    if (!found) return 0; // expunged meanwhile
    from = found;
  }
  return 0;
}

export async function snapshotMaildir(root: string, staging: string): Promise<SnapshotCounts> {
  const counts: SnapshotCounts = { messages: 0, mailboxes: 0, users: 0 };
  async function walk(rel: string, depth: number): Promise<void> {
    const src = path.join(root, rel);
    const dst = path.join(staging, rel);
    await mkdir(dst, { recursive: true, mode: 0o700 });
    let entries;
    try {
      entries = await readdir(src, { withFileTypes: true });
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return; // a folder deleted or renamed meanwhile
      throw err;
    }
    if (depth === 2) counts.users++;
    const dirs = entries.filter((e) => e.isDirectory());
    const isMailbox = dirs.some((d) => d.name === 'cur');
    if (isMailbox) counts.mailboxes++;
    for (const d of dirs) {
      if (isMailbox && (d.name === 'cur' || d.name === 'new')) {
        await mkdir(path.join(dst, d.name), { recursive: true, mode: 0o700 });
        const names = await readdir(path.join(src, d.name)).catch(() => [] as string[]);
        for (const n of names) counts.messages += await snapMessage(src, d.name, n, path.join(dst, d.name));
      } else if (isMailbox && d.name === 'tmp') {
        await mkdir(path.join(dst, 'tmp'), { recursive: true, mode: 0o700 }); // half-written deliveries stay out
      } else {
        await walk(path.join(rel, d.name), depth + 1);
      }
    }
    // Metadata after the messages (see the top of this file).
    for (const f of entries.filter((e) => e.isFile() && !SKIP(e.name))) {
      try {
        await copyFile(path.join(src, f.name), path.join(dst, f.name));
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
    }
  }
  await walk('.', 0);
  return counts;
}
