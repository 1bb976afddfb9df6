// EXPUNGE and UID EXPUNGE (RFC 3501 6.4.3, RFC 4315 2.1). The store's expunge record reaches
// this session's view like anyone else's; the session then sends the EXPUNGE responses
// before the tagged OK.
import { ImapNo } from '../errors.js';
import type { Command } from '../proto/types.js';
import type { ImapSession } from '../session.js';
import { highestModseqCode } from './condstore.js';

type Of<N extends Command['name']> = Extract<Command, { name: N }>;

function selected(s: ImapSession) {
  if (s.state.kind !== 'selected') throw new Error('not selected');
  if (s.state.sel.readOnly) throw new ImapNo('Mailbox is read-only', 'READ-ONLY');
  return s.state;
}

export async function expunge(s: ImapSession): Promise<string> {
  const { sel, mailUser } = selected(s);
  const uids = sel.view.all().filter((m) => m.flags.includes('\\Deleted')).map((m) => m.uid);
  if (uids.length > 0) await s.deps.store.expunge(mailUser, sel.mailbox, uids);
  return `${highestModseqCode(s, sel.view)}EXPUNGE completed`;
}

export async function uidExpunge(s: ImapSession, cmd: Of<'UID EXPUNGE'>): Promise<string> {
  const { sel, mailUser } = selected(s);
  if (cmd.set === '$') throw new ImapNo('SEARCHRES is not supported', 'CANNOT');
  const seqs = sel.view.resolve(cmd.set, true);
  const uids = seqs.map((q) => sel.view.at(q)!).filter((m) => m.flags.includes('\\Deleted')).map((m) => m.uid);
  if (uids.length > 0) await s.deps.store.expunge(mailUser, sel.mailbox, uids);
  return `${highestModseqCode(s, sel.view)}UID EXPUNGE completed`;
}
