// THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256 3 and 4), and the thread-list
// output of RFC 5256 4/5. Pure: the command gives one ThreadMessage per matching message,
// in sequence order, with its keys computed once.
//
// REFERENCES follows the RFC's steps (the JWZ algorithm as RFC 5256 4 pins it down):
//  1. link messages by Message-ID through References (or the first In-Reply-To id);
//     missing parents become dummies, duplicate Message-IDs count only for the first
//     (lowest sequence number) message, and no link that would make a loop is made;
//  2. the parentless containers are the root set;
//  3. dummies are pruned: an empty one disappears, its children move up a level, except
//     that several children of a root dummy stay under it;
//  4. root siblings are sorted by sent date (a dummy by its first child's);
//  5. roots with the same base subject are merged (a dummy keeps them together);
//  6. every set of siblings is sorted by sent date, ties by sequence number.
// Trees are walked with explicit stacks: a crafted References chain thousands deep must
// not overflow the call stack.
import { compareText, type DerivedKeys, type KeyName, sentDate } from './header-keys.js';

export interface ThreadMessage {
  seq: number;
  /** What the reply lists: the sequence number, or the UID for UID THREAD. */
  id: number;
  /** Sent date (RFC 5256 2.2), ms. */
  date: number;
  /** Base subject under i;ascii-casemap. */
  subject: string;
  replyOrForward: boolean;
  /** Normalised Message-ID, null when missing or invalid. */
  messageId: string | null;
  /** Normalised ids of References, or the first of In-Reply-To. */
  references: string[];
}

export interface ThreadNode {
  /** null for a dummy (a thread whose first message is not there). */
  msg: ThreadMessage | null;
  children: ThreadNode[];
}

/** The header-derived keys threading reads. */
export const THREAD_KEYS: readonly KeyName[] = ['date', 'subject', 'threading'];

/** The ThreadMessage of one message from its keys (THREAD_KEYS filled). */
export function threadMessage(seq: number, id: number, d: DerivedKeys, internalDate: Date): ThreadMessage {
  const { key, replyOrForward } = d.subject!;
  const { messageId, references } = d.threading!;
  return { seq, id, date: sentDate(d, internalDate), subject: key, replyOrForward, messageId, references };
}

// ---- ORDEREDSUBJECT (RFC 5256 3) ---------------------------------------------------------

const byDate = (a: ThreadMessage, b: ThreadMessage): number => a.date - b.date || a.seq - b.seq;

/** Sorted by base subject then sent date; each subject is one thread whose first message is
 *  the parent of all the others; threads in the sent-date order of their first message. */
export function threadOrderedSubject(msgs: readonly ThreadMessage[]): ThreadNode[] {
  const sorted = [...msgs].sort((a, b) => compareText(a.subject, b.subject) || byDate(a, b));
  const threads: ThreadNode[] = [];
  let head: ThreadNode | null = null;
  for (const m of sorted) {
    if (head && head.msg!.subject === m.subject) head.children.push({ msg: m, children: [] });
    else {
      head = { msg: m, children: [] };
      threads.push(head);
    }
  }
  return threads.sort((a, b) => byDate(a.msg!, b.msg!));
}

// ---- REFERENCES (RFC 5256 4) -------------------------------------------------------------

class Container implements ThreadNode {
  parent: Container | null = null;
  children: Container[] = [];
  constructor(public msg: ThreadMessage | null) {}
}

function unlink(c: Container): void {
  const p = c.parent;
  if (!p) return;
  p.children.splice(p.children.indexOf(c), 1);
  c.parent = null;
}

function link(parent: Container, child: Container): void {
  child.parent = parent;
  parent.children.push(child);
}

/** Making `parent` the parent of `child` would close a loop (child is parent or above it). */
function wouldLoop(parent: Container, child: Container): boolean {
  // Without children `child` cannot be above `parent`: the usual case (messages arrive in
  // order) stays linear instead of walking up a long thread for every reply.
  if (child.children.length === 0) return parent === child;
  for (let p: Container | null = parent; p; p = p.parent) if (p === child) return true;
  return false;
}

/** The message a container is dated and named by: its own, or (a dummy) its first child's. */
function lead(c: Container): ThreadMessage {
  let x = c;
  while (!x.msg) x = x.children[0]!;
  return x.msg;
}

const byLead = (a: Container, b: Container): number => byDate(lead(a), lead(b));

/** Calls fn on every container from `roots` down, each after all of its descendants: the
 *  reverse of a pre-order walk, so no call stack and no per-node bookkeeping. */
function postOrder(roots: readonly Container[], fn: (c: Container) => void): void {
  const order: Container[] = [];
  const stack = [...roots];
  while (stack.length > 0) {
    const c = stack.pop()!;
    order.push(c);
    for (const ch of c.children) stack.push(ch);
  }
  for (let i = order.length - 1; i >= 0; i--) fn(order[i]!);
}

export function threadReferences(msgs: readonly ThreadMessage[]): ThreadNode[] {
  const byId = new Map<string, Container>();
  const all: Container[] = [];
  const container = (id: string): Container => {
    let c = byId.get(id);
    if (!c) {
      c = new Container(null);
      byId.set(id, c);
      all.push(c);
    }
    return c;
  };
  // (1) Messages in sequence order, so the first of a duplicate Message-ID keeps it.
  for (const m of msgs) {
    const existing = m.messageId === null ? undefined : byId.get(m.messageId);
    const ownId = existing && existing.msg ? null : m.messageId; // a duplicate gets a unique (unnamed) id
    // (A) The references link into a chain: each the parent of the next, unless the child
    // has a parent already or the link would make a loop. A message naming itself among
    // its references is not its own ancestor: such entries are skipped.
    let last: Container | null = null;
    for (const ref of m.references) {
      if (ref === ownId) continue;
      const c = container(ref);
      if (last && !c.parent && !wouldLoop(last, c)) link(last, c);
      last = c;
    }
    let own: Container;
    if (existing && !existing.msg) {
      own = existing; // a dummy made for this id by an earlier message's references
      own.msg = m;
    } else {
      own = new Container(m);
      all.push(own);
      if (ownId !== null) byId.set(ownId, own);
    }
    // (B) The last reference becomes the parent, replacing any parent the message had.
    unlink(own);
    if (last && !wouldLoop(last, own)) link(last, own);
  }
  // (2) The root set, (3) pruned.
  const roots = prune(all.filter((c) => c.parent === null));
  // (4) Root siblings by sent date; a dummy sorts its children first and goes by the first.
  for (const r of roots) if (!r.msg) r.children.sort(byLead);
  roots.sort(byLead);
  // (5) Roots with one base subject.
  const merged = gatherSubjects(roots);
  // (6) Every set of siblings by sent date, the deepest first.
  postOrder(merged, (c) => c.children.sort(byLead));
  merged.sort(byLead);
  return merged; // a Container is a ThreadNode (plus its parent link)
}

/** RFC 5256 4 (3): remove dummies; returns the new root set. */
function prune(roots: Container[]): Container[] {
  // Children lists below the root, deepest first: a dummy's children are final when it is seen.
  postOrder(roots, (c) => {
    const kept: Container[] = [];
    for (const ch of c.children) {
      if (ch.msg) kept.push(ch);
      else
        for (const g of ch.children) {
          g.parent = c; // a dummy below the root: its children take its place
          kept.push(g);
        }
    }
    c.children = kept;
  });
  const out: Container[] = [];
  for (const r of roots) {
    if (r.msg || r.children.length > 1) out.push(r);
    else if (r.children.length === 1) {
      // A dummy root with one child: the child becomes the root (with several, they stay together).
      const ch = r.children[0]!;
      ch.parent = null;
      out.push(ch);
    }
  }
  return out;
}

/** RFC 5256 4 (5): merge the roots that share a base subject. */
function gatherSubjects(roots: Container[]): Container[] {
  const isRf = (c: Container): boolean => c.msg !== null && c.msg.replyOrForward;
  // (B) One container per subject: a dummy wins over a message, a non-reply over a reply.
  const table = new Map<string, Container>();
  for (const r of roots) {
    const s = lead(r).subject;
    if (s === '') continue;
    const t = table.get(s);
    if (!t || (t.msg !== null && (r.msg === null || (isRf(t) && !isRf(r))))) table.set(s, r);
  }
  // (C) Merge each other root with the table's.
  const slots: Array<Container | null> = [...roots];
  const slotOf = new Map<Container, number>(roots.map((r, i) => [r, i]));
  for (let i = 0; i < slots.length; i++) {
    const r = slots[i];
    if (!r) continue;
    const s = lead(r).subject;
    if (s === '') continue;
    const t = table.get(s)!;
    if (t === r) continue;
    slots[i] = null;
    if (!t.msg && !r.msg) for (const ch of r.children) t.children.push(ch); // both dummies: one set of siblings
    else if (!t.msg) t.children.push(r); // the table's is a dummy: r joins its children
    else if (isRf(r) && !isRf(t)) t.children.push(r); // a reply under the original
    else {
      // Both replies or neither: siblings under a new dummy, which takes t's place.
      const d = new Container(null);
      d.children = [t, r];
      const at = slotOf.get(t)!;
      slots[at] = d;
      slotOf.set(d, at);
      table.set(s, d);
    }
  }
  return slots.filter((c): c is Container => c !== null);
}

// ---- Output (RFC 5256 5) -----------------------------------------------------------------

/**
 * thread-data = "THREAD" [SP 1*thread-list]; a thread-list is "(" the message's number, then
 * its only child continuing the list ("3 6") or its children as nested lists ("(4 23)(44 7)").
 * A dummy has no number: `((3)(5))`.
 */
export function formatThreads(roots: readonly ThreadNode[]): string {
  if (roots.length === 0) return '* THREAD';
  const out: string[] = ['* THREAD '];
  // Work items, last first: a node to write, or text to write after the nodes before it.
  const stack: Array<ThreadNode | string> = [];
  for (let r = roots.length - 1; r >= 0; r--) stack.push(')', roots[r]!, '(');
  while (stack.length > 0) {
    const it = stack.pop()!;
    if (typeof it === 'string') {
      out.push(it);
      continue;
    }
    const kids = it.children;
    if (it.msg) out.push(kids.length === 0 ? String(it.msg.id) : `${it.msg.id} `);
    if (kids.length === 1) stack.push(kids[0]!);
    else for (let k = kids.length - 1; k >= 0; k--) stack.push(')', kids[k]!, '(');
  }
  return out.join('');
}
