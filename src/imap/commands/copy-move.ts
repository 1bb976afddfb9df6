// COPY, MOVE and their UID forms (RFC 3501 6.4.7, RFC 6851, RFC 4315 COPYUID).
import { ImapNo } from '../errors.js';
import { toStoreName } from '../names.js';
import type { Command } from '../proto/types.js';
import { uidSetText } from '../response.js';
import type { ImapSession } from '../session.js';
import { StoreError } from '../../maildir/types.js';

type Of<N extends Command['name']> = Extract<Command, { name: N }>;

export async function copyMove(s: ImapSession, cmd: Of<'COPY' | 'MOVE'>): Promise<string> {
  if (s.state.kind !== 'selected') throw new Error('not selected');
  const { sel, mailUser } = s.state;
  if (cmd.set === '$') throw new ImapNo('SEARCHRES is not supported', 'CANNOT');
  const target = toStoreName(cmd.mailbox, s.delimiter);
  const seqs = sel.view.resolve(cmd.set, cmd.uid);
  if (cmd.name === 'MOVE' && sel.readOnly) throw new ImapNo('Mailbox is read-only', 'READ-ONLY');
  const msgs = seqs.map((q) => sel.view.at(q)!);
  if (msgs.some((m) => sel.view.isExpungePending(m.uid))) {
    // RFC 2180 4.4.1: a COPY naming an expunged message fails as a whole.
    throw new ImapNo('Some of the messages were expunged', 'EXPUNGEISSUED');
  }
  const uids = msgs.map((m) => m.uid);
  if (uids.length === 0) return `${cmd.name} completed`; // UID set matched nothing (RFC 3501 6.4.8)
  let map: Map<number, number>;
  try {
    map =
      cmd.name === 'MOVE'
        ? await s.deps.store.move(mailUser, sel.mailbox, uids, target)
        : await s.deps.store.copy(mailUser, sel.mailbox, uids, target);
  } catch (err) {
    // RFC 3501 6.4.7: a missing target is [TRYCREATE], so the client can CREATE and retry.
    if (err instanceof StoreError && err.code === 'no-mailbox') throw new ImapNo('Mailbox does not exist', 'TRYCREATE');
    throw err;
  }
  const src = [...map.keys()].sort((a, b) => a - b);
  const dst = src.map((u) => map.get(u)!);
  let validity = s.uidValidityOf.get(target);
  if (validity === undefined) validity = (await s.deps.store.listMessages(mailUser, target)).uidValidity;
  const code = src.length > 0 ? `[COPYUID ${validity} ${uidSetText(src)} ${uidSetText(dst)}] ` : '';
  if (cmd.name === 'MOVE') {
    // Into or out of Junk teaches Rspamd (src/scan/learn.ts): queued, the reply never waits.
    s.deps.learner?.moved(mailUser, sel.mailbox, target, dst, s.log);
    // RFC 6851 3.3: COPYUID goes in an untagged OK before the EXPUNGEs.
    if (code) s.send(`* OK ${code}Moved`);
    return 'MOVE completed';
  }
  return `${code}COPY completed`;
}
