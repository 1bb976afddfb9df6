// Maildir++ quota file `maildirsize` in the user's Maildir root
// (Maildir++ spec; Dovecot quota backend "maildir"). First line: the limit
// ("<bytes>S,<count>C"); then "<bytes> <count>" deltas, appended with one write.
// Recomputed when missing, unparsable or longer than 5120 bytes, as the spec says.
import { constants as fsConstants } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { atomicWrite, isErrno, readIfExists } from './fsutil.js';
import { parseFileName } from './filename.js';
import { mailboxNameFromDir } from './paths.js';
import type { QuotaUsage } from './types.js';

export const MAILDIRSIZE = 'maildirsize';
const MAX_MAILDIRSIZE_BYTES = 5120;
const DEFAULT_LIMIT_LINE = '0S,0C';

export interface ParsedMaildirsize {
  limitLine: string;
  usage: QuotaUsage;
}

export function parseMaildirsize(text: string): ParsedMaildirsize | null {
  const lines = text.split('\n');
  const limitLine = lines[0]?.trim() ?? '';
  if (!/^(\d+[SC])(,\d+[SC])*$/.test(limitLine)) return null;
  let bytes = 0;
  let messages = 0;
  for (const line of lines.slice(1)) {
    if (line.trim() === '') continue;
    const m = /^\s*(-?\d+)\s+(-?\d+)\s*$/.exec(line);
    if (!m) return null;
    bytes += Number(m[1]);
    messages += Number(m[2]);
  }
  return { limitLine, usage: { bytes: Math.max(0, bytes), messages: Math.max(0, messages) } };
}

/** Sums S= of every message in every mailbox of the user (stat when S= is absent). */
export async function computeUsage(home: string): Promise<QuotaUsage> {
  const dirs = [home];
  for (const e of await readdir(home, { withFileTypes: true })) {
    if (e.isDirectory() && mailboxNameFromDir(e.name) !== null) dirs.push(path.join(home, e.name));
  }
  let bytes = 0;
  let messages = 0;
  for (const dir of dirs) {
    for (const sub of ['new', 'cur']) {
      let names: string[];
      try {
        names = await readdir(path.join(dir, sub));
      } catch (err) {
        if (isErrno(err, 'ENOENT', 'ENOTDIR')) continue;
        throw err;
      }
      for (const name of names) {
        if (name.startsWith('.')) continue;
        let size = parseFileName(name).size;
        if (size === undefined) {
          try {
            size = (await stat(path.join(dir, sub, name))).size;
          } catch {
            continue; // moved or expunged meanwhile
          }
        }
        bytes += size;
        messages++;
      }
    }
  }
  return { bytes, messages };
}

export async function readQuota(home: string): Promise<QuotaUsage> {
  const file = path.join(home, MAILDIRSIZE);
  const text = await readIfExists(file);
  const parsed = text === null ? null : parseMaildirsize(text);
  if (parsed && Buffer.byteLength(text!) <= MAX_MAILDIRSIZE_BYTES) return parsed.usage;
  const usage = await computeUsage(home);
  await atomicWrite(file, `${parsed?.limitLine ?? DEFAULT_LIMIT_LINE}\n${usage.bytes} ${usage.messages}\n`);
  return usage;
}

/** Appends a delta; when the file does not exist yet the next readQuota computes it. */
export async function addQuota(home: string, bytes: number, messages: number): Promise<void> {
  // No O_CREAT: a missing file is recomputed by the next quota read, not started here.
  // One write with O_APPEND, as Maildir++ prescribes, so concurrent writers interleave whole lines.
  let fh;
  try {
    fh = await open(path.join(home, MAILDIRSIZE), fsConstants.O_WRONLY | fsConstants.O_APPEND);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw err;
  }
  try {
    await fh.write(`${bytes} ${messages}\n`);
  } finally {
    await fh.close();
  }
}
