// The one place that turns (root, user, mailbox name) into a path on disk. Everything
// else in the store calls these; nothing concatenates user input into a path itself.
import path from 'node:path';
import { StoreError, type MailUser } from './types.js';
import { decodeMutf7, encodeMutf7 } from './utf7.js';

/** File name components are limited to 255 bytes on every file system we care about. */
export const MAX_COMPONENT_BYTES = 255;
/** An IMAP name in UTF-8; generous but bounded so the encoded Maildir++ name still fits. */
export const MAX_MAILBOX_NAME_BYTES = 600;

// C0 controls, DEL and the C1 range: never valid in a name we put on disk.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function checkComponent(kind: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new StoreError('invalid-name', `${kind} is empty`);
  }
  if (Buffer.byteLength(value, 'utf8') > MAX_COMPONENT_BYTES) {
    throw new StoreError('invalid-name', `${kind} is too long`);
  }
  if (CONTROL.test(value)) throw new StoreError('invalid-name', `${kind} contains control characters`);
  if (value.includes('/') || value.includes('\\')) {
    throw new StoreError('invalid-name', `${kind} contains a path separator`);
  }
  if (value.startsWith('.') || value.includes('..')) {
    throw new StoreError('invalid-name', `${kind} starts with a dot or contains '..'`);
  }
  if (value !== value.toLowerCase()) throw new StoreError('invalid-name', `${kind} is not lower-case`);
  return value;
}

export function validateUser(user: MailUser): MailUser {
  return { domain: checkComponent('domain', user.domain), localPart: checkComponent('local part', user.localPart) };
}

/** A validated mailbox name: canonical UTF-8 form plus its levels. */
export interface MailboxName {
  name: string;
  levels: string[];
  isInbox: boolean;
}

/**
 * Checks an IMAP mailbox name (UTF-8, '/' between levels). With Maildir++ the on-disk
 * hierarchy separator is '.', so a level containing '.' cannot be represented.
 */
export function parseMailboxName(name: unknown): MailboxName {
  if (typeof name !== 'string' || name.length === 0) throw new StoreError('invalid-name', 'mailbox name is empty');
  if (Buffer.byteLength(name, 'utf8') > MAX_MAILBOX_NAME_BYTES) {
    throw new StoreError('invalid-name', 'mailbox name is too long');
  }
  if (CONTROL.test(name)) throw new StoreError('invalid-name', 'mailbox name contains control characters');
  const levels = name.split('/');
  for (const level of levels) {
    if (level.length === 0) throw new StoreError('invalid-name', 'mailbox name has an empty level');
    if (level.includes('.')) {
      throw new StoreError('invalid-name', "mailbox name level contains '.', the Maildir++ separator");
    }
    if (level.includes('\\')) throw new StoreError('invalid-name', 'mailbox name contains a backslash');
  }
  // RFC 3501 5.1: INBOX is case-insensitive, and so is the INBOX prefix of its children.
  if (levels[0]!.toUpperCase() === 'INBOX') levels[0] = 'INBOX';
  const canonical = levels.join('/');
  return { name: canonical, levels, isInbox: canonical === 'INBOX' };
}

/** `.Level1.Level2` in modified UTF-7; throws when the directory name would be too long. */
export function folderDirName(mb: MailboxName): string {
  if (mb.isInbox) throw new Error('INBOX has no folder directory');
  const dir = '.' + mb.levels.map(encodeMutf7).join('.');
  if (Buffer.byteLength(dir, 'utf8') > MAX_COMPONENT_BYTES) {
    throw new StoreError('invalid-name', 'mailbox name is too long for the file system');
  }
  return dir;
}

/** Reverse of folderDirName for names found on disk; null for entries that are not folders. */
export function mailboxNameFromDir(dirName: string): string | null {
  if (!dirName.startsWith('.') || dirName === '.' || dirName === '..') return null;
  const parts = dirName.slice(1).split('.');
  try {
    const levels = parts.map(decodeMutf7);
    return parseMailboxName(levels.join('/')).name;
  } catch {
    return null;
  }
}

function underRoot(root: string, candidate: string): string {
  const base = path.resolve(root);
  const resolved = path.resolve(candidate);
  if (!resolved.startsWith(base + path.sep)) throw new StoreError('invalid-name', 'path escapes the mail root');
  return resolved;
}

export function userDir(root: string, user: MailUser): string {
  const u = validateUser(user);
  return underRoot(root, path.join(root, u.domain, u.localPart));
}

/** The Maildir of one mailbox: the user directory itself for INBOX, `.Name` otherwise. */
export function mailboxDir(root: string, user: MailUser, name: string | MailboxName): string {
  const mb = typeof name === 'string' ? parseMailboxName(name) : name;
  const home = userDir(root, user);
  if (mb.isInbox) return home;
  return underRoot(root, path.join(home, folderDirName(mb)));
}
