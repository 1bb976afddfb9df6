// Small async file helpers shared by the store. No sync fs calls: one process serves everyone.
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export function isErrno(err: unknown, ...codes: string[]): boolean {
  return codes.includes((err as NodeJS.ErrnoException | undefined)?.code ?? '');
}

/** True when `p` exists; errors other than ENOENT (permissions, I/O) are thrown, not hidden. */
export async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw err;
  }
}

export async function readIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw err;
  }
}

/**
 * Write to a temp file beside the target, fsync, rename over it: readers (us or Dovecot)
 * see the old or the new file, never a torn one. The temp name follows Dovecot's
 * `<file>.<host>.<random>` habit so a crash leaves something recognisable.
 */
export async function atomicWrite(file: string, data: string): Promise<void> {
  const tmp = `${file}.${os.hostname()}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** A rename or link is durable only once its directory is fsynced. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export function join(...parts: string[]): string {
  return path.join(...parts);
}
