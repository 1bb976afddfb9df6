// STORE and UID STORE (RFC 3501 6.4.6): ±FLAGS(.SILENT) with keywords. The reply's FETCH
// responses are this command's own; the change records the store emits for them match the
// view already and are not announced twice.
import { ImapNo } from '../errors.js';
import { sortFlags } from '../mailbox-view.js';
import type { Command } from '../proto/types.js';
import { uidSetText, updateLines } from '../response.js';
import { condstoreOn, enableCondstore, fetchFlagsLine } from './condstore.js';
import type { ImapSession } from '../session.js';
import { splitFlags } from './flags.js';
import { ResponseBatch } from '../response-batch.js';

type Of<N extends Command['name']> = Extract<Command, { name: N }>;

export async function store(s: ImapSession, cmd: Of<'STORE'>): Promise<string> {
  if (s.state.kind !== 'selected') throw new Error('not selected');
  const { sel, mailUser } = s.state;
  if (cmd.set === '$') throw new ImapNo('SEARCHRES is not supported', 'CANNOT');
  const { flags, keywords } = splitFlags(cmd.flags);
  const seqs = sel.view.resolve(cmd.set, cmd.uid);
  if (sel.readOnly) throw new ImapNo('Mailbox is read-only', 'READ-ONLY');
  const targets = seqs.map((q) => sel.view.at(q)!).filter((m) => !sel.view.isExpungePending(m.uid));
  const expunged = seqs.length - targets.length;
  let dropped = false;
  // RFC 7162 3.1.3: UNCHANGEDSINCE enables CONDSTORE; messages changed since are listed in MODIFIED.
  const conditional = cmd.unchangedSince !== undefined;
  if (conditional) enableCondstore(s);
  const withModseq = condstoreOn(s);
  let modified: number[] = [];
  if (targets.length > 0) {
    const opts = conditional ? { unchangedSince: cmd.unchangedSince! } : {};
    const changed = await s.deps.store.setFlags(mailUser, sel.mailbox, targets.map((m) => m.uid), cmd.op, flags, keywords, opts);
    modified = changed.modified;
    for (const m of changed) sel.view.applyFlags(m.uid, [...m.flags, ...m.keywords], m.modseq);
    // Maildir has 26 keyword letters per mailbox (as Dovecot); the store drops the excess.
    if (cmd.op !== 'remove' && keywords.length > 0) {
      dropped = changed.some((m) => keywords.some((k) => !m.keywords.some((x) => x.toLowerCase() === k.toLowerCase())));
    }
    const kw = sel.view.keywordUpdate();
    if (kw) for (const line of updateLines(kw, true)) s.send(line);
    const out = new ResponseBatch(s); // STORE 1:* answers 10,000 lines: ~64 KiB per write
    const line = (text: string) => out.add([Buffer.from(text + '\r\n', 'utf8')]);
    for (const m of changed) {
      const seq = sel.view.seqOf(m.uid);
      if (seq === 0) continue;
      sel.view.announced(m.uid);
      const msg = sel.view.at(seq)!;
      // .SILENT: no FETCH for our own change (RFC 3501 6.4.6); the UID form carries UID (6.4.8).
      // With CONDSTORE on, the new modseq is still sent (RFC 7162 3.1.3 "even if .SILENT").
      if (cmd.silent) {
        if (withModseq) await line(`* ${seq} FETCH (${cmd.uid ? `UID ${m.uid} ` : ''}MODSEQ (${m.modseq}))`);
        continue;
      }
      const shown = msg.recent ? [...sortFlags(msg.flags), '\\Recent'] : msg.flags;
      await line(fetchFlagsLine(seq, cmd.uid ? m.uid : null, shown, withModseq ? m.modseq : null));
    }
    await out.end();
  }
  if (modified.length > 0) {
    // The tagged reply names them: sequence numbers for STORE, UIDs for UID STORE (RFC 7162 3.1.3).
    const set = cmd.uid ? modified : modified.map((u) => sel.view.seqOf(u)).filter((q) => q > 0);
    const text = `[MODIFIED ${uidSetText(set.sort((a, b) => a - b))}] Conditional STORE failed`;
    if (dropped || expunged > 0) s.log.info({ modified: modified.length }, 'conditional store partly failed');
    return text;
  }
  if (dropped) throw new ImapNo('Too many keywords in this mailbox (26 at most)', 'LIMIT');
  // RFC 2180 4.2.1: messages expunged by another session cannot be changed.
  if (expunged > 0) throw new ImapNo('Some of the messages were expunged', 'EXPUNGEISSUED');
  return 'STORE completed';
}
