// APPEND (RFC 3501 6.3.11) with flags, internal date, [APPENDUID] (RFC 4315), [TRYCREATE]
// and [OVERQUOTA] (RFC 5530) from the user's quota in the directory. The receiver has
// already capped the literal at `imap.maxLiteralBytes` and refused bigger ones unread.
import { Readable } from 'node:stream';
import { ImapBad, ImapNo } from '../errors.js';
import { toStoreName } from '../names.js';
import type { Command } from '../proto/types.js';
import type { ImapSession } from '../session.js';
import { StoreError } from '../../maildir/types.js';
import { splitFlags } from './flags.js';

type Of<N extends Command['name']> = Extract<Command, { name: N }>;

export async function append(s: ImapSession, cmd: Of<'APPEND'>): Promise<string> {
  if (s.state.kind !== 'authenticated' && s.state.kind !== 'selected') throw new Error('not logged in');
  const { mailUser, user } = s.state;
  const name = toStoreName(cmd.mailbox, s.delimiter);
  const { flags, keywords } = splitFlags(cmd.flags);
  if (cmd.message.length === 0) throw new ImapNo('Cannot append an empty message', 'CANNOT');
  // RFC 6855 4: the UTF8 data item exists only for sessions that enabled UTF8=ACCEPT.
  if (cmd.utf8 && !s.enabled.has('UTF8=ACCEPT')) throw new ImapBad('APPEND UTF8 needs ENABLE UTF8=ACCEPT first');
  const fresh = await s.deps.directory.getUser(user.address);
  const quotaMb = fresh?.quotaMb ?? user.quotaMb;
  if (quotaMb > 0) {
    const usage = await s.deps.store.quotaUsage(mailUser);
    if (usage.bytes + cmd.message.length > quotaMb * 1024 * 1024) {
      s.log.info({ used: usage.bytes, size: cmd.message.length, quotaMb }, 'append over quota');
      throw new ImapNo('Quota exceeded', 'OVERQUOTA');
    }
  }
  const message = cmd.message;
  try {
    const res = await s.deps.store.deliver(
      mailUser,
      name,
      { open: () => Readable.from([message]) },
      { flags, keywords, ...(cmd.internalDate ? { internalDate: cmd.internalDate } : {}) },
    );
    return `[APPENDUID ${res.uidValidity} ${res.uid}] APPEND completed`;
  } catch (err) {
    if (err instanceof StoreError && err.code === 'no-mailbox') throw new ImapNo('Mailbox does not exist', 'TRYCREATE');
    throw err;
  }
}
