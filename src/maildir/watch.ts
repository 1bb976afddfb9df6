// Notices changes other programs (Dovecot, a restore, a shell) make in a user's Maildir:
// inotify via fs.watch on new/ and cur/ of every mailbox, plus the Maildir root for
// folders appearing or disappearing. Bursts collapse into one 'external' record per
// mailbox after DEBOUNCE_MS; IMAP IDLE re-syncs from it. Events for files we wrote
// ourselves are skipped: the change bus already announced them.
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { listFolderDirs } from './folders.js';
import { mailboxNameFromDir } from './paths.js';
import type { OwnWrites } from './own-writes.js';

export const DEBOUNCE_MS = 50;

export class UserWatcher {
  private readonly watchers = new Map<string, FSWatcher[]>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private rootWatcher: FSWatcher | null = null;
  private stopped = false;
  readonly ready: Promise<void>;

  constructor(
    private readonly home: string,
    private readonly emit: (mailbox: string) => void,
    private readonly own: OwnWrites,
    private readonly logger: Logger,
  ) {
    this.rootWatcher = this.tryWatch(home, (name) => this.onRootEvent(name));
    this.add('INBOX', home);
    this.ready = this.refresh();
  }

  private tryWatch(dir: string, onEvent: (name: string | null) => void): FSWatcher | null {
    try {
      const w = watch(dir, { persistent: false }, (_event, name) => onEvent(name === null ? null : String(name)));
      w.on('error', (err) => {
        this.logger.debug({ err, dir }, 'watch ended');
        w.close();
      });
      return w;
    } catch (err) {
      this.logger.debug({ err, dir }, 'cannot watch directory');
      return null;
    }
  }

  private add(mailbox: string, dir: string): void {
    if (this.stopped || this.watchers.has(mailbox)) return;
    const ws: FSWatcher[] = [];
    for (const sub of ['new', 'cur']) {
      const subDir = path.join(dir, sub);
      const w = this.tryWatch(subDir, (name) => {
        if (name !== null && this.own.has(path.join(subDir, name))) return;
        this.schedule(mailbox);
      });
      if (w) ws.push(w);
    }
    this.watchers.set(mailbox, ws);
  }

  private remove(mailbox: string): void {
    for (const w of this.watchers.get(mailbox) ?? []) w.close();
    this.watchers.delete(mailbox);
  }

  private async refresh(): Promise<void> {
    let folders: Array<{ name: string; dirName: string }>;
    try {
      folders = await listFolderDirs(this.home);
    } catch (err) {
      this.logger.debug({ err }, 'cannot list folders to watch');
      return;
    }
    if (this.stopped) return;
    const present = new Set(folders.map((f) => f.name));
    for (const f of folders) this.add(f.name, path.join(this.home, f.dirName));
    for (const name of [...this.watchers.keys()]) if (name !== 'INBOX' && !present.has(name)) this.remove(name);
  }

  private onRootEvent(name: string | null): void {
    if (name === null) return;
    const mailbox = mailboxNameFromDir(name);
    if (mailbox === null) return; // uidlist, index and lock files in the root
    void this.refresh();
    this.schedule(mailbox);
  }

  private schedule(mailbox: string): void {
    if (this.stopped || this.timers.has(mailbox)) return;
    const t = setTimeout(() => {
      this.timers.delete(mailbox);
      if (!this.stopped) this.emit(mailbox);
    }, DEBOUNCE_MS);
    t.unref();
    this.timers.set(mailbox, t);
  }

  stop(): void {
    this.stopped = true;
    this.rootWatcher?.close();
    for (const name of [...this.watchers.keys()]) this.remove(name);
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
