// CREATE, DELETE, RENAME, SUBSCRIBE/UNSUBSCRIBE, LIST/LSUB, NAMESPACE, STATUS (RFC 3501 6.3).
import type { MailboxInfo } from '../../maildir/types.js';
import { ImapBad, ImapNo } from '../errors.js';
import { listMatcher, toClientName, toStoreName } from '../names.js';
import type { Command } from '../proto/types.js';
import { imapString, mailboxString } from '../response.js';
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
  // Maildir++ needs no parent directory: a missing parent simply lists as \Noselect
  // (RFC 3501 6.3.3 lets the server create superior names or not).
  await s.deps.store.createMailbox(mailUser, name);
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

interface Entry {
  client: string;
  real: MailboxInfo | null;
  hasChildren: boolean;
}

/** Every mailbox plus its missing ancestors (listed \Noselect), in client form. */
function entries(boxes: MailboxInfo[], s: ImapSession, filter?: (m: MailboxInfo) => boolean): Entry[] {
  const byName = new Map<string, Entry>();
  const wanted = filter ? boxes.filter(filter) : boxes;
  const all = new Set(boxes.map((b) => b.name));
  for (const b of wanted) {
    byName.set(b.name, { client: toClientName(b.name, s.delimiter), real: b, hasChildren: false });
    const levels = b.name.split('/');
    for (let i = 1; i < levels.length; i++) {
      const parent = levels.slice(0, i).join('/');
      if (!byName.has(parent)) {
        // LSUB: an unsubscribed parent of a subscribed child shows as \Noselect (RFC 3501 6.3.9).
        const real = !filter && all.has(parent) ? (boxes.find((x) => x.name === parent) ?? null) : null;
        byName.set(parent, { client: toClientName(parent, s.delimiter), real, hasChildren: true });
      } else byName.get(parent)!.hasChildren = true;
    }
  }
  for (const b of boxes) {
    const levels = b.name.split('/');
    if (levels.length > 1) {
      const parent = byName.get(levels.slice(0, -1).join('/'));
      if (parent) parent.hasChildren = true;
    }
  }
  const list = [...byName.values()];
  // INBOX first, then by name: a stable order helps clients and tests.
  return list.sort((a, b) => (a.client === 'INBOX' ? -1 : b.client === 'INBOX' ? 1 : a.client < b.client ? -1 : a.client > b.client ? 1 : 0));
}

export async function list(s: ImapSession, cmd: Of<'LIST' | 'LSUB'>): Promise<string> {
  const { mailUser } = user(s);
  const delim = s.delimiter;
  if (cmd.pattern === '') {
    // RFC 3501 6.3.8: an empty pattern asks for the delimiter and the reference's root.
    if (cmd.name === 'LIST') s.send(`* LIST (\\Noselect) ${imapString(delim)} ""`);
    return `${cmd.name} completed`;
  }
  const boxes = await s.deps.store.listMailboxes(mailUser);
  const match = listMatcher(cmd.reference, cmd.pattern, delim);
  const lsub = cmd.name === 'LSUB';
  for (const e of entries(boxes, s, lsub ? (m) => m.subscribed : undefined)) {
    if (!match(e.client)) continue;
    const attrs: string[] = [];
    if (!e.real) attrs.push('\\Noselect');
    if (!lsub) {
      attrs.push(e.hasChildren ? '\\HasChildren' : '\\HasNoChildren'); // RFC 3348
      if (e.real?.specialUse) attrs.push(e.real.specialUse); // RFC 6154
    }
    s.send(`* ${cmd.name} (${attrs.join(' ')}) ${imapString(delim)} ${mailboxString(e.client)}`);
  }
  return `${cmd.name} completed`;
}

/** RFC 2342: one personal namespace, no shared or other users' folders. */
export async function namespace(s: ImapSession): Promise<string> {
  s.send(`* NAMESPACE (("" ${imapString(s.delimiter)})) NIL NIL`);
  return 'NAMESPACE completed';
}

export async function status(s: ImapSession, cmd: Of<'STATUS'>): Promise<string> {
  const { mailUser } = user(s);
  const name = toStoreName(cmd.mailbox, s.delimiter);
  for (const item of cmd.items) {
    if (item === 'HIGHESTMODSEQ' || item === 'SIZE') throw new ImapBad(`STATUS ${item} is not supported`);
  }
  const listing = await s.deps.store.listMessages(mailUser, name);
  const msgs = listing.messages;
  const out: string[] = [];
  for (const item of cmd.items) {
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
      default:
        break;
    }
  }
  s.send(`* STATUS ${mailboxString(toClientName(name, s.delimiter))} (${out.join(' ')})`);
  return 'STATUS completed';
}
