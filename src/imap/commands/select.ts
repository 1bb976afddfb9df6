// SELECT, EXAMINE, CLOSE, UNSELECT (RFC 3501 6.3.1, 6.3.2, 6.4.2; RFC 3691).
import { ImapBad, ImapNo } from '../errors.js';
import { canonicalFlags, MailboxView } from '../mailbox-view.js';
import { toStoreName } from '../names.js';
import type { Command } from '../proto/types.js';
import { flagList, SYSTEM_FLAGS } from '../response.js';
import type { ImapSession } from '../session.js';
import { StoreError } from '../../maildir/types.js';
import { enableCondstore, qresyncOn, qresyncSelect } from './condstore.js';

type Of<N extends Command['name']> = Extract<Command, { name: N }>;

/** Dovecot keeps keywords in 26 Maildir letters: past that, no new ones (no `\*`). */
const MAX_KEYWORDS = 26;

export async function select(s: ImapSession, cmd: Of<'SELECT' | 'EXAMINE'>): Promise<string> {
  if (s.state.kind !== 'authenticated' && s.state.kind !== 'selected') throw new Error('not logged in');
  const { mailUser } = s.state;
  // RFC 7162 3.2.5: the QRESYNC parameter only after ENABLE QRESYNC.
  if (cmd.qresync && !qresyncOn(s)) throw new ImapBad('QRESYNC parameter without ENABLE QRESYNC');
  // RFC 7162 3.2.11: with QRESYNC on, the client is told where the old mailbox's responses end.
  if (s.state.kind === 'selected' && qresyncOn(s)) s.send('* OK [CLOSED] Previous mailbox closed');
  // RFC 3501 6.3.1: a SELECT deselects the current mailbox first, even when it fails.
  s.deselect();
  if (cmd.condstore) enableCondstore(s); // RFC 7162 3.1.8
  const name = toStoreName(cmd.mailbox, s.delimiter);
  const readOnly = cmd.name === 'EXAMINE';
  let listing;
  try {
    listing = await s.deps.store.listMessages(mailUser, name);
  } catch (err) {
    if (err instanceof StoreError && err.code === 'no-mailbox') throw new ImapNo('Mailbox does not exist', 'NONEXISTENT');
    throw err;
  }
  const msgs = listing.messages;
  // EXAMINE must not take \Recent away from anyone (RFC 3501 6.3.2).
  const recent = s.deps.hub.recent(mailUser, name, msgs.map((m) => m.uid), !readOnly, msgs);
  const view = new MailboxView(
    msgs.map((m) => ({
      uid: m.uid,
      flags: canonicalFlags(m.flags, m.keywords),
      internalDate: m.internalDate,
      size: m.vsize,
      recent: recent.has(m.uid),
      modseq: m.modseq,
    })),
    listing.uidValidity,
    listing.uidNext,
  );
  view.noteModseq(listing.highestModseq);
  const keywords = view.keywords();
  s.send(`* FLAGS ${flagList([...SYSTEM_FLAGS, ...keywords])}`);
  const permanent = readOnly ? [] : [...SYSTEM_FLAGS, ...keywords, ...(keywords.length < MAX_KEYWORDS ? ['\\*'] : [])];
  s.send(`* OK [PERMANENTFLAGS ${flagList(permanent)}] ${readOnly ? 'Read-only mailbox' : 'Flags permitted'}`);
  s.send(`* ${view.count} EXISTS`);
  s.send(`* ${view.recentCount} RECENT`);
  const firstUnseen = view.all().findIndex((m) => !m.flags.includes('\\Seen'));
  if (firstUnseen >= 0) s.send(`* OK [UNSEEN ${firstUnseen + 1}] First unseen`);
  s.send(`* OK [UIDVALIDITY ${listing.uidValidity}] UIDs valid`);
  s.send(`* OK [UIDNEXT ${listing.uidNext}] Predicted next UID`);
  // RFC 7162 3.1.2.1: every mailbox keeps modseqs persistently, so every SELECT says so.
  s.send(`* OK [HIGHESTMODSEQ ${listing.highestModseq}] Highest`);
  if (cmd.qresync) await qresyncSelect(s, mailUser, name, view, listing, cmd.qresync);
  s.select({ mailbox: name, readOnly, view, gone: false });
  return `[${readOnly ? 'READ-ONLY' : 'READ-WRITE'}] ${cmd.name} completed`;
}

/** CLOSE expunges \Deleted messages silently (no untagged EXPUNGE) unless read-only. */
export async function close(s: ImapSession): Promise<string> {
  if (s.state.kind !== 'selected') throw new Error('not selected');
  const { sel, mailUser } = s.state;
  s.deselect();
  if (!sel.readOnly && !sel.gone) {
    const uids = sel.view.all().filter((m) => m.flags.includes('\\Deleted')).map((m) => m.uid);
    if (uids.length > 0) await s.deps.store.expunge(mailUser, sel.mailbox, uids);
  }
  return 'CLOSE completed';
}

/** RFC 3691: leave the mailbox without expunging. */
export async function unselect(s: ImapSession): Promise<string> {
  s.deselect();
  return 'UNSELECT completed';
}
