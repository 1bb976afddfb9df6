// FETCH and UID FETCH (RFC 3501 6.4.5, 6.4.8). Item building is src/imap/fetch.ts; this
// file owns the command: the set, \Seen for non-PEEK body fetches (with FLAGS in the reply),
// a loader over the store with the structure parsed once per message, and writing each
// response with its body streams piped.
import { StoreError } from '../../maildir/types.js';
import type { MimePart } from '../../mime/types.js';
import { ImapBad, ImapNo } from '../errors.js';
import { condstoreOn, enableCondstore, qresyncOn, vanishedForFetch } from './condstore.js';
import { buildFetchItems, buildFetchItemsSync, impliesSeen, needsContent, SMALL_MESSAGE, syncFetchable, type MessageLoader } from '../fetch.js';
import { sortFlags } from '../mailbox-view.js';
import { untagged } from '../proto/serializer.js';
import type { Command, FetchAttr, SeqRange } from '../proto/types.js';
import type { ImapSession } from '../session.js';
import { updateLines } from '../response.js';
import { ResponseBatch } from '../response-batch.js';

type Of<N extends Command['name']> = Extract<Command, { name: N }>;

export async function fetch(s: ImapSession, cmd: Of<'FETCH'>): Promise<string> {
  if (s.state.kind !== 'selected') throw new Error('not selected');
  const { sel, mailUser } = s.state;
  if (cmd.set === '$') throw new ImapNo('SEARCHRES is not supported', 'CANNOT');
  let seqs = sel.view.resolve(cmd.set, cmd.uid);
  let attrs: FetchAttr[] = [...cmd.attrs];
  // RFC 7162 3.1.4.1: FETCH MODSEQ and CHANGEDSINCE enable CONDSTORE; CHANGEDSINCE implies MODSEQ.
  if (cmd.changedSince !== undefined || attrs.some((a) => a.kind === 'MODSEQ')) enableCondstore(s);
  if (cmd.vanished) {
    if (!qresyncOn(s)) throw new ImapBad('VANISHED needs ENABLE QRESYNC'); // RFC 7162 3.2.6
    await vanishedForFetch(s, cmd.set as SeqRange[], cmd.changedSince!);
  }
  if (cmd.changedSince !== undefined) {
    const since = cmd.changedSince;
    seqs = seqs.filter((q) => (sel.view.at(q)!.modseq ?? 0) > since);
    if (!attrs.some((a) => a.kind === 'MODSEQ')) attrs = [...attrs, { kind: 'MODSEQ' }];
  }
  // The UID form always reports UID (RFC 3501 6.4.8).
  if (cmd.uid && !attrs.some((a) => a.kind === 'UID')) attrs = [{ kind: 'UID' }, ...attrs];
  const setsSeen = impliesSeen(attrs) && !sel.readOnly;
  if (setsSeen) {
    const unseen = seqs
      .map((q) => sel.view.at(q)!)
      .filter((m) => !m.flags.includes('\\Seen') && !sel.view.isExpungePending(m.uid))
      .map((m) => m.uid);
    if (unseen.length > 0) {
      const changed = await s.deps.store.setFlags(mailUser, sel.mailbox, unseen, 'add', ['\\Seen']);
      for (const m of changed) sel.view.applyFlags(m.uid, [...m.flags, ...m.keywords], m.modseq);
      // RFC 3501 6.4.5: the flags changed, so they go in this FETCH response.
      if (changed.length > 0 && !attrs.some((a) => a.kind === 'FLAGS')) attrs = [...attrs, { kind: 'FLAGS' }];
    }
  }
  const withFlags = attrs.some((a) => a.kind === 'FLAGS');
  // With CONDSTORE on, FLAGS travel with their MODSEQ (as Dovecot does; RFC 7162 3.1.4).
  const withModseq = attrs.some((a) => a.kind === 'MODSEQ') || (withFlags && condstoreOn(s));
  const kw = withFlags ? sel.view.keywordUpdate() : null;
  if (kw) for (const line of updateLines(kw, true)) s.send(line);
  const content = needsContent(attrs);
  let missing = 0;
  const out = new ResponseBatch(s); // one socket write per ~64 KiB, not per message
  // A message list's items over structures in memory: built without an await per message.
  const peek = syncFetchable(attrs) ? s.deps.store.peekStructure?.bind(s.deps.store) : undefined;
  for (const seq of seqs) {
    const m = sel.view.at(seq)!;
    const mailbox = sel.mailbox;
    const flags = m.recent ? [...sortFlags(m.flags), '\\Recent'] : m.flags;
    const cachedRoot = peek && content ? peek(mailUser, mailbox, m.uid) : undefined;
    if (peek && (cachedRoot || !content)) {
      const items = buildFetchItemsSync(attrs, { seq, uid: m.uid, flags, internalDate: m.internalDate, size: m.size }, cachedRoot ?? null);
      if (withModseq) items.push({ t: 'atom', v: 'MODSEQ' }, { t: 'list', v: [{ t: 'number', v: m.modseq ?? 0 }] });
      const wrote = out.add(untagged([{ t: 'number', v: seq }, { t: 'atom', v: 'FETCH' }, { t: 'list', v: items }]));
      if (wrote) await wrote; // only when a batch was due
      if (withFlags) sel.view.announced(m.uid);
      continue;
    }
    let root: Promise<MimePart> | null = null;
    const loader: MessageLoader = {
      open: () => s.deps.store.openMessage(mailUser, mailbox, m.uid),
      structure: () => (root ??= s.deps.store.messageStructure(mailUser, mailbox, m.uid)),
      readSmall: s.deps.store.readSmallMessage ? () => s.deps.store.readSmallMessage!(mailUser, mailbox, m.uid, SMALL_MESSAGE) : undefined,
    };
    let items;
    try {
      items = await buildFetchItems(
        attrs,
        { seq, uid: m.uid, flags, internalDate: m.internalDate, size: m.size },
        loader,
      );
    } catch (err) {
      // Expunged by someone else meanwhile (RFC 2180 4.1.2): skip it and say so at the end.
      if (content && ((err instanceof StoreError && err.code === 'no-message') || isEnoent(err))) {
        missing++;
        continue;
      }
      await out.end();
      throw err;
    }
    if (withModseq) items.push({ t: 'atom', v: 'MODSEQ' }, { t: 'list', v: [{ t: 'number', v: m.modseq ?? 0 }] });
    await out.add(untagged([{ t: 'number', v: seq }, { t: 'atom', v: 'FETCH' }, { t: 'list', v: items }]));
    if (withFlags) sel.view.announced(m.uid);
  }
  await out.end();
  if (missing > 0) throw new ImapNo('Some messages were expunged meanwhile', 'EXPUNGEISSUED');
  return `${cmd.uid ? 'UID FETCH' : 'FETCH'} completed`;
}

function isEnoent(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT';
}
