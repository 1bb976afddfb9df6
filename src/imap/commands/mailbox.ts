// CREATE (with CREATE-SPECIAL-USE, RFC 6154 3), DELETE, RENAME, SUBSCRIBE/UNSUBSCRIBE,
// NAMESPACE, STATUS (RFC 3501 6.3; SIZE RFC 8438, APPENDLIMIT RFC 7889). LIST/LSUB: list.ts.
import { isSpecialUse } from '../../maildir/special-use.js';
import { ImapBad, ImapNo } from '../errors.js';
import { mailboxOut, toClientName, toStoreName } from '../names.js';
import type { Command, StatusItem } from '../proto/types.js';
import { imapString } from '../response.js';
import type { ImapSession } from '../session.js';

type Of<N extends Command['name']> = Extract<Command, { name: N }>;

function user(s: ImapSession) {
  if (s.state.kind !== 'authenticated' && s.state.kind !== 'selected') throw new Error('not logged in');
  return s.state;
}

export async function create(s: ImapSession, cmd: Of<'CREATE'>): Promise<string> {
  const { mailUser } = user(s);
  const name = toStoreName(cmd.mailbox, s.delimiter, { allowTrailingDelimiter: true, forbidWildcards: true });
  if (name === 'INBOX') throw new ImapNo('INBOX always exists', 'ALREADYEXISTS');
  // RFC 6154 3: a use we cannot give (\All, \Flagged: virtual mailboxes) is NO [USEATTR];
  // one mailbox has at most one use here.
  const uses = [...new Set(cmd.useAttrs ?? [])];
  const use = uses[0];
  if (uses.length > 1 || (use !== undefined && !isSpecialUse(use))) {
    throw new ImapNo(uses.length > 1 ? 'Only one special use per mailbox' : `Special use ${use} is not supported`, 'USEATTR');
  }
  // Maildir++ needs no parent directory: a missing parent simply lists as \Noselect
  // (RFC 3501 6.3.3 lets the server create superior names or not).
  await s.deps.store.createMailbox(mailUser, name, use ? { specialUse: use } : {});
  return 'CREATE completed';
}

export async function del(s: ImapSession, cmd: Of<'DELETE'>): Promise<string> {
  const { mailUser } = user(s);
  const name = toStoreName(cmd.mailbox, s.delimiter);
  if (name === 'INBOX') throw new ImapNo('INBOX cannot be deleted', 'CANNOT');
  // Deleting the selected mailbox closes it first (as Dovecot does); other sessions that
  // have it selected are told BYE at their next reply point.
  if (s.state.kind === 'selected' && s.state.sel.mailbox === name) s.deselect();
  await s.deps.store.deleteMailbox(mailUser, name);
  s.deps.hub.forgetMailbox(mailUser, name);
  return 'DELETE completed';
}

export async function rename(s: ImapSession, cmd: Of<'RENAME'>): Promise<string> {
  const { mailUser } = user(s);
  const from = toStoreName(cmd.from, s.delimiter);
  const to = toStoreName(cmd.to, s.delimiter, { forbidWildcards: true });
  if (to === 'INBOX') throw new ImapNo('INBOX already exists', 'ALREADYEXISTS');
  // RFC 3501 6.3.5: renaming INBOX moves its messages to a new mailbox; INBOX stays, empty.
  // The store does that, and renames inferior names along with a folder.
  await s.deps.store.renameMailbox(mailUser, from, to);
  s.deps.hub.forgetMailbox(mailUser, to);
  return 'RENAME completed';
}

export async function subscribe(s: ImapSession, cmd: Of<'SUBSCRIBE' | 'UNSUBSCRIBE'>): Promise<string> {
  const { mailUser } = user(s);
  const name = toStoreName(cmd.mailbox, s.delimiter);
  if (cmd.name === 'SUBSCRIBE') {
    const exists = (await s.deps.store.listMailboxes(mailUser)).some((m) => m.name === name);
    if (!exists) throw new ImapNo('Mailbox does not exist', 'NONEXISTENT');
  }
  await s.deps.store.setSubscribed(mailUser, name, cmd.name === 'SUBSCRIBE');
  return `${cmd.name} completed`;
}

/** RFC 2342: one personal namespace, no shared or other users' folders. */
export async function namespace(s: ImapSession): Promise<string> {
  s.send(`* NAMESPACE (("" ${imapString(s.delimiter)})) NIL NIL`);
  return 'NAMESPACE completed';
}

export async function status(s: ImapSession, cmd: Of<'STATUS'>): Promise<string> {
  user(s);
  const name = toStoreName(cmd.mailbox, s.delimiter);
  s.send(await statusLine(s, name, cmd.items));
  return 'STATUS completed';
}

/** `* STATUS name (...)` for STATUS and LIST-STATUS (RFC 5819); throws StoreError no-mailbox. */
export async function statusLine(s: ImapSession, name: string, items: StatusItem[]): Promise<string> {
  const { mailUser } = user(s);
  const listing = await s.deps.store.listMessages(mailUser, name);
  const msgs = listing.messages;
  const out: string[] = [];
  for (const item of items) {
    switch (item) {
      case 'MESSAGES':
        out.push(`MESSAGES ${msgs.length}`);
        break;
      case 'RECENT':
        out.push(`RECENT ${s.deps.hub.recent(mailUser, name, msgs.map((m) => m.uid), false, msgs).size}`);
        break;
      case 'UIDNEXT':
        out.push(`UIDNEXT ${listing.uidNext}`);
        break;
      case 'UIDVALIDITY':
        out.push(`UIDVALIDITY ${listing.uidValidity}`);
        break;
      case 'UNSEEN':
        out.push(`UNSEEN ${msgs.filter((m) => !m.flags.includes('\\Seen')).length}`);
        break;
      case 'SIZE':
        // RFC 8438: the sum of the messages' RFC822.SIZE, which is the CRLF size (W=).
        out.push(`SIZE ${msgs.reduce((n, m) => n + m.vsize, 0)}`);
        break;
      case 'APPENDLIMIT':
        // RFC 7889 4: the same limit for every mailbox, the one CAPABILITY announces.
        out.push(`APPENDLIMIT ${s.deps.limits.maxLiteralBytes}`);
        break;
      case 'HIGHESTMODSEQ': // RFC 7162 3.1.6 (the store keeps modseqs for every mailbox)
        out.push(`HIGHESTMODSEQ ${listing.highestModseq}`);
        break;
      default:
        break;
    }
  }
  return `* STATUS ${mailboxOut(toClientName(name, s.delimiter), s.enabled.has('UTF8=ACCEPT'))} (${out.join(' ')})`;
}
