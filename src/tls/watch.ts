// Notices when certificate files change. Let's Encrypt swaps a symlink in live/, Tailscale
// and most tools rename a new file into place, so the directory is watched rather than
// the file (a watch on the file follows the old inode). fs.watch misses events on some
// file systems (NFS, some containers), hence the slow stat poll as a fallback.
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';

export interface WatchOptions {
  files: string[];
  /** Called after changes settle; may be called when nothing changed (callers compare contents). */
  onChange: () => void;
  onWatchError: (dir: string, err: Error) => void;
  pollMs: number;
  debounceMs: number;
  /** false = poll only (tests of the fallback; file systems where fs.watch misbehaves). */
  fsWatch: boolean;
}

async function signature(files: string[]): Promise<string> {
  const parts = await Promise.all(
    files.map(async (f) => {
      try {
        const s = await stat(f); // follows symlinks, so a swapped link changes ino
        return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code ?? 'error';
      }
    }),
  );
  return parts.join('|');
}

export function watchFiles(opts: WatchOptions): () => void {
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const fire = () => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(opts.onChange, opts.debounceMs);
  };

  const watchers: FSWatcher[] = [];
  const dirs = opts.fsWatch ? new Set(opts.files.map((f) => path.dirname(f))) : new Set<string>();
  for (const dir of dirs) {
    try {
      const w = watch(dir, { persistent: false }, fire);
      w.on('error', (err) => opts.onWatchError(dir, err));
      watchers.push(w);
    } catch (err) {
      opts.onWatchError(dir, err as Error);
    }
  }

  let poll: NodeJS.Timeout | undefined;
  if (opts.pollMs > 0) {
    let last: Promise<string> = signature(opts.files);
    poll = setInterval(() => {
      last = last.then(async (prev) => {
        const now = await signature(opts.files);
        if (now !== prev) fire();
        return now;
      });
    }, opts.pollMs);
    poll.unref();
  }

  return () => {
    closed = true;
    clearTimeout(timer);
    clearInterval(poll);
    for (const w of watchers) w.close();
  };
}
