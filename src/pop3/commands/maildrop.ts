// TRANSACTION state (RFC 1939 5): STAT, LIST, UIDL, RETR, TOP, DELE, RSET, NOOP over the
// session's snapshot of the INBOX. Sizes are CRLF sizes (the store's vsize).
import { StoreError } from '../../maildir/types.js';
import type { Pop3Command } from '../proto/command.js';
import { uidlOf } from '../proto/uidl.js';
import { Pop3Err, removedElsewhere } from '../errors.js';
import type { Maildrop } from '../maildrop.js';
import type { Pop3Session } from '../session.js';

type Cmd<N extends Pop3Command['name']> = Extract<Pop3Command, { name: N }>;

function dropOf(s: Pop3Session): Maildrop {
  if (s.state.kind !== 'transaction') throw new Pop3Err('Not logged in', { bad: true });
  return s.state.drop;
}

export function stat(s: Pop3Session): void {
  const { count, octets } = dropOf(s).stat();
  s.sendLine(`+OK ${count} ${octets}`);
}

export function list(s: Pop3Session, c: Cmd<'LIST'>): void {
  const drop = dropOf(s);
  if (c.msg !== undefined) {
    s.sendLine(`+OK ${c.msg} ${drop.get(c.msg).vsize}`);
    return;
  }
  const { count, octets } = drop.stat();
  s.sendMultiline(`+OK ${count} messages (${octets} octets)`, (function* () {
    for (const [n, m] of drop.live()) yield `${n} ${m.vsize}`;
  })());
}

export function uidl(s: Pop3Session, c: Cmd<'UIDL'>): void {
  const drop = dropOf(s);
  if (c.msg !== undefined) {
    s.sendLine(`+OK ${c.msg} ${uidlOf(drop.get(c.msg).uid, drop.uidValidity)}`);
    return;
  }
  s.sendMultiline('+OK', (function* () {
    for (const [n, m] of drop.live()) yield `${n} ${uidlOf(m.uid, drop.uidValidity)}`;
  })());
}

async function send(s: Pop3Session, n: number, bodyLines?: number): Promise<void> {
  const drop = dropOf(s);
  const m = drop.get(n);
  if (m.removed) throw removedElsewhere(n);
  let stream;
  try {
    // Opened before "+OK", so a message that vanished gets a clean -ERR, not a cut stream.
    stream = await s.ctx.store.openMessage(drop.user, 'INBOX', m.uid);
  } catch (err) {
    if (err instanceof StoreError && err.code === 'no-message') {
      m.removed = true;
      throw removedElsewhere(n);
    }
    throw err;
  }
  if (bodyLines === undefined) m.retrieved = true;
  await s.streamMessage(bodyLines === undefined ? `+OK ${m.vsize} octets` : '+OK', stream, bodyLines);
}

export function retr(s: Pop3Session, c: Cmd<'RETR'>): Promise<void> {
  return send(s, c.msg);
}

export function top(s: Pop3Session, c: Cmd<'TOP'>): Promise<void> {
  return send(s, c.msg, c.lines);
}

export function dele(s: Pop3Session, c: Cmd<'DELE'>): void {
  const m = dropOf(s).get(c.msg);
  m.deleted = true;
  s.sendLine(`+OK Message ${c.msg} marked for deletion`);
}

export function rset(s: Pop3Session): void {
  const drop = dropOf(s);
  drop.reset();
  const { count, octets } = drop.stat();
  s.sendLine(`+OK ${count} messages (${octets} octets)`);
}

export function noop(s: Pop3Session): void {
  s.sendLine('+OK');
}
