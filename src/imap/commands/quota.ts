// QUOTA (RFC 9208): one quota root per user, "User quota", holding every mailbox; its one
// resource is STORAGE in units of 1024 octets (4.1, 5.1), fed from the directory user's
// quotaMb and the store's Maildir++ usage (the figures delivery and APPEND enforce).
// A user without a quota (quotaMb 0) has no quota root: GETQUOTAROOT names none (4.2.2).
// SETQUOTA is refused: administrators set quotas through the CLI and the admin API, and
// QUOTASET is not announced (4.2.3).
import { ImapNo } from '../errors.js';
import { mailboxOut, toClientName, toStoreName } from '../names.js';
import type { Command } from '../proto/types.js';
import { imapString } from '../response.js';
import type { ImapSession } from '../session.js';

type Of<N extends Command['name']> = Extract<Command, { name: N }>;

export const QUOTA_ROOT = 'User quota';

function user(s: ImapSession) {
  if (s.state.kind !== 'authenticated' && s.state.kind !== 'selected') throw new Error('not logged in');
  return s.state;
}

/** The user's limit in bytes, read fresh from the directory (an admin may just have changed it); 0 = none. */
async function limitBytes(s: ImapSession): Promise<number> {
  const { user: u } = user(s);
  const fresh = await s.deps.directory.getUser(u.address);
  return (fresh?.quotaMb ?? u.quotaMb) * 1024 * 1024;
}

/** `* QUOTA "User quota" (STORAGE used limit)`, in KiB rounded down, as Dovecot reports. */
async function quotaLine(s: ImapSession, limit: number): Promise<string> {
  const usage = await s.deps.store.quotaUsage(user(s).mailUser);
  return `* QUOTA ${imapString(QUOTA_ROOT)} (STORAGE ${Math.floor(usage.bytes / 1024)} ${Math.floor(limit / 1024)})`;
}

export async function getQuotaRoot(s: ImapSession, cmd: Of<'GETQUOTAROOT'>): Promise<string> {
  const { mailUser } = user(s);
  const name = toStoreName(cmd.mailbox, s.delimiter);
  const boxes = await s.deps.store.listMailboxes(mailUser);
  if (!boxes.some((b) => b.name === name)) throw new ImapNo('Mailbox does not exist', 'NONEXISTENT');
  const limit = await limitBytes(s);
  const client = mailboxOut(toClientName(name, s.delimiter), s.enabled.has('UTF8=ACCEPT'));
  s.send(limit > 0 ? `* QUOTAROOT ${client} ${imapString(QUOTA_ROOT)}` : `* QUOTAROOT ${client}`);
  if (limit > 0) s.send(await quotaLine(s, limit));
  return 'GETQUOTAROOT completed';
}

export async function getQuota(s: ImapSession, cmd: Of<'GETQUOTA'>): Promise<string> {
  const limit = await limitBytes(s);
  if (cmd.root !== QUOTA_ROOT || limit === 0) throw new ImapNo('No such quota root', 'NONEXISTENT');
  s.send(await quotaLine(s, limit));
  return 'GETQUOTA completed';
}

export async function setQuota(): Promise<string> {
  throw new ImapNo('Quotas are set by the administrator', 'NOPERM');
}
