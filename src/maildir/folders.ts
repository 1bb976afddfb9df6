// Folders of one user: Maildir++ directories `.Name` / `.Parent.Child` beside INBOX's
// cur/new/tmp, plus the `subscriptions` file. Creating and removing a folder is a
// single mkdir / rename, which is what makes them atomic against Dovecot.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { atomicWrite, isErrno, readIfExists } from './fsutil.js';
import { withDotlock } from './lock.js';
import type { MailboxStates } from './mailbox-state.js';
import { folderDirName, mailboxNameFromDir, parseMailboxName, type MailboxName } from './paths.js';
import { parseSubscriptions, serializeSubscriptions } from './subscriptions.js';
import { StoreError, type MailboxInfo } from './types.js';

export const SUBSCRIPTIONS = 'subscriptions';
export const DEFAULT_FOLDERS: ReadonlyArray<[string, NonNullable<MailboxInfo['specialUse']>]> = [
  ['Drafts', '\\Drafts'],
  ['Sent', '\\Sent'],
  ['Junk', '\\Junk'],
  ['Trash', '\\Trash'],
  ['Archive', '\\Archive'],
];
const SPECIAL_USE = new Map(DEFAULT_FOLDERS);

export function specialUseOf(name: string): MailboxInfo['specialUse'] {
  return SPECIAL_USE.get(name);
}

/** cur/ new/ tmp/ with Dovecot's default 0700 (files inherit 0600). */
export async function makeMaildir(dir: string, isFolder: boolean): Promise<void> {
  for (const sub of ['cur', 'new', 'tmp']) await mkdir(path.join(dir, sub), { recursive: true, mode: 0o700 });
  // Maildir++: a folder directory carries an empty `maildirfolder` marker file.
  if (isFolder) await writeFile(path.join(dir, 'maildirfolder'), '', { flag: 'a', mode: 0o600 });
}

export async function isMaildir(dir: string): Promise<boolean> {
  try {
    return (await stat(path.join(dir, 'cur'))).isDirectory();
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ENOTDIR')) return false;
    throw err;
  }
}

/** Every folder name present on disk (INBOX not included), with its directory name. */
export async function listFolderDirs(home: string): Promise<Array<{ name: string; dirName: string }>> {
  const out: Array<{ name: string; dirName: string }> = [];
  for (const e of await readdir(home, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const name = mailboxNameFromDir(e.name);
    if (name !== null && name !== 'INBOX') out.push({ name, dirName: e.name });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export async function createFolder(home: string, mb: MailboxName): Promise<string> {
  if (mb.isInbox) throw new StoreError('exists', 'INBOX always exists');
  const dir = path.join(home, folderDirName(mb));
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (err) {
    if (isErrno(err, 'EEXIST')) throw new StoreError('exists', `mailbox ${mb.name} exists`);
    throw err;
  }
  await makeMaildir(dir, true);
  return dir;
}

/** Renames the folder away first (atomic for readers), then removes it in the background of this call. */
export async function deleteFolder(home: string, mb: MailboxName, states: MailboxStates, logger: Logger): Promise<void> {
  if (mb.isInbox) throw new StoreError('invalid-name', 'INBOX cannot be deleted');
  const dir = path.join(home, folderDirName(mb));
  // Not starting with '.', so neither we nor Dovecot take it for a folder while it is removed.
  const trash = path.join(home, `DOVECOT-TRASHED-${randomBytes(6).toString('hex')}`);
  try {
    await rename(dir, trash);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new StoreError('no-mailbox', `no mailbox ${mb.name}`);
    throw err;
  }
  states.forget(dir);
  await rm(trash, { recursive: true, force: true }).catch((err: unknown) =>
    logger.error({ err, dir: trash }, 'could not remove deleted folder'),
  );
}

/**
 * RFC 3501 6.3.5: renaming a mailbox renames its inferiors too. Maildir++ keeps each
 * level in its own directory, so each `.From.*` directory is renamed one by one. The
 * uidlist travels with the directory, so UIDs and UIDVALIDITY stay.
 */
export async function renameFolder(home: string, from: MailboxName, to: MailboxName, states: MailboxStates): Promise<Array<[string, string]>> {
  if (to.isInbox) throw new StoreError('exists', 'INBOX always exists');
  if (to.name === from.name || to.name.startsWith(from.name + '/')) {
    throw new StoreError('invalid-name', 'cannot rename a mailbox into itself');
  }
  const folders = await listFolderDirs(home);
  const moving = folders.filter((f) => f.name === from.name || f.name.startsWith(from.name + '/'));
  if (!moving.some((f) => f.name === from.name)) throw new StoreError('no-mailbox', `no mailbox ${from.name}`);
  const renames = moving.map((f) => {
    const newName = parseMailboxName(to.name + f.name.slice(from.name.length));
    return { from: f, to: newName, toDir: folderDirName(newName) };
  });
  const existing = new Set(folders.map((f) => f.name));
  for (const r of renames) {
    if (existing.has(r.to.name)) throw new StoreError('exists', `mailbox ${r.to.name} exists`);
  }
  const done: Array<[string, string]> = [];
  for (const r of renames) {
    const src = path.join(home, r.from.dirName);
    await rename(src, path.join(home, r.toDir));
    states.forget(src);
    done.push([r.from.name, r.to.name]);
  }
  return done;
}

export async function readSubscriptions(home: string): Promise<string[]> {
  const text = await readIfExists(path.join(home, SUBSCRIPTIONS));
  return text === null ? [] : parseSubscriptions(text);
}

/** Read-modify-write under Dovecot's dotlock `subscriptions.lock`. */
export async function updateSubscriptions(home: string, fn: (names: string[]) => string[]): Promise<void> {
  const file = path.join(home, SUBSCRIPTIONS);
  await withDotlock(file, async () => {
    const before = await readSubscriptions(home);
    const after = fn(before);
    if (after.length === before.length && after.every((n, i) => n === before[i])) return;
    await atomicWrite(file, serializeSubscriptions(after));
  });
}
