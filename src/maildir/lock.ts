// Two locks guard a mailbox's dovecot-uidlist: an in-process async mutex (our own
// concurrent requests) and Dovecot's dotlock `<file>.lock` (other processes, Dovecot
// itself). Order is always mutex → dotlock, so two requests of ours never contend on
// the file. Never wait on a socket while holding either.
import { open, stat, unlink } from 'node:fs/promises';
import os from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';

export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

/** One mutex per key (a mailbox directory), dropped when idle so memory stays bounded. */
export class KeyedMutex {
  private readonly entries = new Map<string, { mutex: Mutex; users: number }>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let e = this.entries.get(key);
    if (!e) {
      e = { mutex: new Mutex(), users: 0 };
      this.entries.set(key, e);
    }
    e.users++;
    try {
      return await e.mutex.run(fn);
    } finally {
      e.users--;
      if (e.users === 0) this.entries.delete(key);
    }
  }
}

export interface DotlockOptions {
  /** A lock file older than this is someone's leftover (Dovecot uses 120 s for the uidlist). */
  staleSeconds?: number;
  /** Give up after this long. */
  timeoutMs?: number;
}

export class LockTimeoutError extends Error {}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Creates `<path>.lock` with O_EXCL. The content is "<pid>:<host>", what Dovecot's
 * file-dotlock.c writes and reads to break locks of dead processes on the same host.
 */
// uname(2) per lock shows up in profiles; the host name does not change under us.
const HOST = os.hostname();

export async function withDotlock<T>(path: string, fn: () => Promise<T>, opts: DotlockOptions = {}): Promise<T> {
  const lockPath = `${path}.lock`;
  const stale = (opts.staleSeconds ?? 120) * 1000;
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  const host = HOST;
  let wait = 2;
  for (;;) {
    try {
      const fh = await open(lockPath, 'wx', 0o600);
      try {
        await fh.writeFile(`${process.pid}:${host}`);
      } finally {
        await fh.close();
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await isStale(lockPath, stale, host)) {
      await unlink(lockPath).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) throw new LockTimeoutError(`timed out waiting for ${lockPath}`);
    await delay(wait);
    wait = Math.min(wait * 2, 100);
  }
  try {
    return await fn();
  } finally {
    await unlink(lockPath).catch(() => undefined);
  }
}

async function isStale(lockPath: string, staleMs: number, host: string): Promise<boolean> {
  try {
    const st = await stat(lockPath);
    if (Date.now() - st.mtimeMs > staleMs) return true;
    const fh = await open(lockPath, 'r');
    let content: string;
    try {
      content = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
    const m = /^(\d+):(.*)$/.exec(content.trim());
    // Give a lock a moment before judging its owner: it is written right after creation.
    if (m && m[2] === host && Date.now() - st.mtimeMs > 2000) return !pidAlive(Number(m[1]));
    return false;
  } catch {
    return false; // vanished: the next open attempt decides
  }
}
