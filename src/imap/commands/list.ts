// LIST and LSUB (RFC 3501 6.3.8-9) with LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819)
// and the SPECIAL-USE options (RFC 6154 5.1).
//
// Which names a reply holds:
// - plain LIST: every mailbox, plus missing parents of listed ones as \Noselect (RFC 3501
//   6.3.8), with \HasChildren/\HasNoChildren (RFC 3348) and special use (RFC 6154 2);
// - LSUB: subscribed names, plus unsubscribed parents as \Noselect (RFC 3501 6.3.9);
// - extended LIST: the names that satisfy every selection option (RFC 5258 3): SUBSCRIBED
//   lists subscribed names, existing or not (\NonExistent); SPECIAL-USE only mailboxes
//   with a special use. RECURSIVEMATCH adds a matching parent whose satisfying descendant
//   is not itself listed, with CHILDINFO (RFC 5258 3.5). Attributes are those asked for:
//   SUBSCRIBED (implied by the selection option), CHILDREN, SPECIAL-USE (implied by its
//   selection option), as Dovecot answers; missing mailboxes are \NonExistent, not \Noselect.
// - a name matching several patterns is listed once (RFC 5258 3).
import { StoreError, type MailboxInfo } from '../../maildir/types.js';
import { listMatcher, mailboxOut, toClientName } from '../names.js';
import type { Command } from '../proto/types.js';
import { imapString } from '../response.js';
import type { ImapSession } from '../session.js';
import { statusLine } from './mailbox.js';

type Of<N extends Command['name']> = Extract<Command, { name: N }>;

interface Node {
  name: string; // store name
  client: string;
  info: MailboxInfo | null;
  subscribed: boolean;
}

function ancestors(name: string): string[] {
  const levels = name.split('/');
  const out: string[] = [];
  for (let i = 1; i < levels.length; i++) out.push(levels.slice(0, i).join('/'));
  return out;
}

export async function list(s: ImapSession, cmd: Of<'LIST' | 'LSUB'>): Promise<string> {
  if (s.state.kind !== 'authenticated' && s.state.kind !== 'selected') throw new Error('not logged in');
  const { mailUser } = s.state;
  const done = `${cmd.name} completed`;
  const delim = s.delimiter;
  const utf8 = s.enabled.has('UTF8=ACCEPT');
  const ext = cmd.extended === true;
  const lsub = cmd.name === 'LSUB';
  if (!ext && cmd.patterns.length === 1 && cmd.patterns[0] === '') {
    // RFC 3501 6.3.8: an empty pattern asks for the delimiter and the reference's root.
    if (!lsub) s.send(`* LIST (\\Noselect) ${imapString(delim)} ""`);
    return done;
  }
  // RFC 5258 3: in an extended LIST the empty pattern is not special and matches nothing.
  const matchers = cmd.patterns.filter((p) => p !== '').map((p) => listMatcher(cmd.reference, p, delim));
  if (matchers.length === 0) return done;
  const matches = (n: Node): boolean => matchers.some((m) => m(n.client));

  // Refused before the first LIST line rather than in the middle of the reply.
  const sel = new Set(cmd.selectOptions ?? []);
  const ret = new Set(cmd.returnOptions ?? []);
  const bySubscription = lsub || sel.has('SUBSCRIBED');
  const showSubscribed = ext && (sel.has('SUBSCRIBED') || ret.has('SUBSCRIBED'));
  const showChildren = !ext || ret.has('CHILDREN');
  const showSpecial = !ext || ret.has('SPECIAL-USE') || sel.has('SPECIAL-USE');

  const boxes = await s.deps.store.listMailboxes(mailUser);
  const subscriptions = bySubscription || showSubscribed ? await s.deps.store.listSubscriptions(mailUser) : [];
  const subscribed = new Set(subscriptions.length ? subscriptions : boxes.filter((b) => b.subscribed).map((b) => b.name));

  const nodes = new Map<string, Node>();
  const node = (name: string): Node => {
    let n = nodes.get(name);
    if (!n) {
      n = { name, client: toClientName(name, delim), info: null, subscribed: subscribed.has(name) };
      nodes.set(name, n);
    }
    return n;
  };
  for (const b of boxes) node(b.name).info = b;
  for (const name of subscribed) node(name);
  for (const name of [...nodes.keys()]) for (const a of ancestors(name)) node(a);
  // \HasChildren: some existing mailbox lies below (RFC 3348 4, RFC 5258 4).
  const withChildren = new Set<string>();
  for (const b of boxes) for (const a of ancestors(b.name)) withChildren.add(a);

  // The names the selection options choose (before pattern matching).
  const chosen = new Set<string>();
  if (lsub) {
    for (const name of subscribed) for (const n of [name, ...ancestors(name)]) chosen.add(n);
  } else {
    for (const n of nodes.values()) {
      if (sel.has('SUBSCRIBED') ? !n.subscribed : !(n.info || withChildren.has(n.name))) continue;
      if (sel.has('SPECIAL-USE') && !n.info?.specialUse) continue;
      chosen.add(n.name);
    }
  }
  const listed = new Set([...chosen].filter((name) => matches(nodes.get(name)!)));
  // RECURSIVEMATCH (RFC 5258 3.5): a matching name with a chosen descendant that is not
  // listed itself gets CHILDINFO, and is listed for it if it is not chosen.
  const childInfo = new Set<string>();
  if (sel.has('RECURSIVEMATCH')) {
    for (const name of chosen) {
      if (listed.has(name)) continue;
      for (const a of ancestors(name)) if (matches(nodes.get(a)!)) childInfo.add(a);
    }
    for (const a of childInfo) listed.add(a);
  }
  const criteria = (['SUBSCRIBED', 'SPECIAL-USE'] as const).filter((o) => sel.has(o)).map((o) => `"${o}"`);

  const entries = [...listed].map((n) => nodes.get(n)!);
  // INBOX first, then by name: a stable order helps clients and tests.
  entries.sort((a, b) => (a.client === 'INBOX' ? -1 : b.client === 'INBOX' ? 1 : a.client < b.client ? -1 : a.client > b.client ? 1 : 0));
  for (const e of entries) {
    const attrs: string[] = [];
    if (showSubscribed && e.subscribed) attrs.push('\\Subscribed');
    if (lsub) {
      if (!e.subscribed) attrs.push('\\Noselect');
    } else if (!e.info) attrs.push(ext ? '\\NonExistent' : '\\Noselect');
    if (!lsub && showChildren) attrs.push(withChildren.has(e.name) ? '\\HasChildren' : '\\HasNoChildren');
    if (!lsub && showSpecial && e.info?.specialUse) attrs.push(e.info.specialUse);
    const name = mailboxOut(e.client, utf8);
    const extra = childInfo.has(e.name) ? ` ("CHILDINFO" (${criteria.join(' ')}))` : '';
    s.send(`* ${cmd.name} (${attrs.join(' ')}) ${imapString(delim)} ${name}${extra}`);
    // LIST-STATUS (RFC 5819 2): STATUS after the LIST line, only for selectable mailboxes.
    if (cmd.statusItems && e.info) {
      const line = await statusLine(s, e.name, cmd.statusItems).catch((err: unknown) => {
        if (err instanceof StoreError && err.code === 'no-mailbox') return null; // deleted meanwhile
        throw err;
      });
      if (line) s.send(line);
    }
  }
  return done;
}
