// SEARCH and UID SEARCH (RFC 3501 6.4.4). Key matching is src/imap/search.ts; this file owns
// the command: the charset, the loop over the view, the loader with the structure parsed
// once per message, and the reply.
import { StoreError, type MailUser } from '../../maildir/types.js';
import type { MimePart } from '../../mime/types.js';
import { ImapNo } from '../errors.js';
import { sortFlags, type ViewMessage } from '../mailbox-view.js';
import { SMALL_MESSAGE, type MessageLoader } from '../fetch.js';
import { fieldValues, matchSearch, matchSearchSync, searchNeedles, searchNeedsContent, sentDay, type HeaderSource, type SearchMessage } from '../search.js';
import type { DerivedKeys } from '../header-keys.js';
import { keyCacheFor, type MailboxKeys } from '../key-cache.js';
import { searchModseqSuffix } from './condstore.js';
import type { Command, SearchReturn } from '../proto/types.js';
import { imapString, uidSetText } from '../response.js';
import type { ImapSession } from '../session.js';
import { ImapBad } from '../errors.js';

type Of<N extends Command['name']> = Extract<Command, { name: N }>;

/** What we can decode search strings from (RFC 3501 6.4.4: US-ASCII and UTF-8 at least). */
const CHARSETS = new Set(['UTF-8', 'US-ASCII']);

/** Messages searched at once when files must be read (the thread pool has 4 threads). */
const LANES = 8;
/** Searched fields kept per message with its SORT keys. */
const MAX_KEPT_FIELDS = 6;

/**
 * One message's header as far as memory knows it, for the warm pass: the folded values of
 * a searched field are kept with the message's SORT keys (key-cache.ts), so a repeated
 * SEARCH HEADER (webmail searching as the user types) does one map lookup per message
 * instead of finding the structure in the store's cache and walking its fields. Reused
 * from message to message (at()), so the pass allocates nothing per message for it.
 */
class WarmHeaders implements HeaderSource {
  private m: ViewMessage | null = null;
  private keys: DerivedKeys | null = null;
  private peeked = false;
  private part: MimePart | undefined;

  constructor(
    private readonly s: ImapSession,
    private readonly cached: MailboxKeys,
  ) {}

  at(m: ViewMessage): void {
    this.m = m;
    this.keys = null;
    this.peeked = false;
    this.part = undefined;
  }

  sentDay(): string | undefined {
    const keys = this.keysOf();
    if (keys.sentDay !== undefined) return keys.sentDay;
    const root = this.root();
    return root ? (keys.sentDay = sentDay(root)) : undefined;
  }

  private keysOf(): DerivedKeys {
    const m = this.m!;
    return (this.keys ??= this.cached.keys(m.uid, m.size, m.internalDate.getTime()));
  }

  private root(): MimePart | undefined {
    if (!this.peeked && this.m && this.s.state.kind === 'selected') {
      const { store } = this.s.deps;
      this.part = store.peekStructure?.(this.s.state.mailUser, this.s.state.sel.mailbox, this.m.uid);
      this.peeked = true;
    }
    return this.part;
  }

  values(key: string): readonly string[] | undefined {
    const keys = this.keysOf();
    const hit = keys.fields?.get(key);
    if (hit) return hit;
    const root = this.root();
    if (!root) return undefined;
    const vals = fieldValues(root, key);
    // A few fields per message (Subject, From, To…): the key cache is bounded by messages, not bytes.
    if ((keys.fields?.size ?? 0) < MAX_KEPT_FIELDS) (keys.fields ??= new Map()).set(key, vals);
    return vals;
  }
}

function peekOrLoad(store: ImapSession['deps']['store'], user: MailUser, mailbox: string, uid: number): Promise<MimePart> {
  const hit = store.peekStructure?.(user, mailbox, uid);
  return hit ? Promise.resolve(hit) : store.messageStructure(user, mailbox, uid);
}

/** What the keys see of view message `m` at sequence number i + 1. */
function searchMessage(m: ViewMessage, i: number): SearchMessage {
  const flags = m.recent ? [...sortFlags(m.flags), '\\Recent'] : m.flags;
  return { seq: i + 1, uid: m.uid, flags, internalDate: m.internalDate, size: m.size, recent: m.recent, modseq: BigInt(m.modseq ?? 0) };
}

export async function search(s: ImapSession, cmd: Of<'SEARCH'>, tag: string): Promise<string> {
  if (s.state.kind !== 'selected') throw new Error('not selected');
  const { sel, mailUser } = s.state;
  // RFC 6855 3: after ENABLE UTF8=ACCEPT every string is UTF-8; a CHARSET conflicts with that.
  if (cmd.charset !== undefined && s.enabled.has('UTF8=ACCEPT')) throw new ImapBad('CHARSET is not allowed after ENABLE UTF8=ACCEPT');
  if (cmd.charset !== undefined && !CHARSETS.has(cmd.charset.toUpperCase())) {
    throw new ImapNo('Unsupported charset', 'BADCHARSET (UTF-8 US-ASCII)');
  }
  const view = sel.view;
  const all = view.all();
  const ctx = { maxSeq: all.length, maxUid: all.at(-1)?.uid ?? 0 };
  // 1 where message i matched; filled in order by the warm path, out of order by the lanes.
  const matched = new Uint8Array(all.length);
  const slow: number[] = [];
  const { store } = s.deps;
  const warm = store.peekStructure ? new WarmHeaders(s, keyCacheFor(store).mailbox(mailUser, sel.mailbox, view.uidValidity)) : null;
  const hs = warm && searchNeedsContent(cmd.key) ? warm : null;
  for (let i = 0; i < all.length; i++) {
    const m = all[i]!;
    if (view.isExpungePending(m.uid) && cmd.uid) continue;
    // Warm path: metadata keys, or header keys over what is in memory, with no await.
    if (warm) {
      warm.at(m);
      const r = matchSearchSync(cmd.key, searchMessage(m, i), hs, ctx);
      if (r !== undefined) {
        if (r) matched[i] = 1;
        continue;
      }
    }
    slow.push(i);
  }
  // The rest reads files (BODY/TEXT, or structures not in memory). One message at a time
  // leaves the server waiting on one thread-pool round trip after another; a few lanes
  // keep the pool busy while this thread decodes.
  let next = 0;
  const needles = searchNeedles(cmd.key);
  const lane = async (): Promise<void> => {
    while (next < slow.length) {
      const i = slow[next++]!;
      const m = all[i]!;
      let root: Promise<MimePart> | null = null;
      const loader: MessageLoader = {
        open: () => store.openMessage(mailUser, sel.mailbox, m.uid),
        // In memory (the usual case when only BODY/TEXT sent it here): no async store call.
        structure: () => (root ??= peekOrLoad(store, mailUser, sel.mailbox, m.uid)),
        readSmall: store.readSmallMessage ? () => store.readSmallMessage!(mailUser, sel.mailbox, m.uid, SMALL_MESSAGE) : undefined,
      };
      try {
        if (await matchSearch(cmd.key, searchMessage(m, i), loader, ctx, needles)) matched[i] = 1;
      } catch (err) {
        // Expunged meanwhile (RFC 2180 4.3): it simply does not match.
        if (err instanceof StoreError && err.code === 'no-message') continue;
        next = slow.length; // the other lanes stop at their next message
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(LANES, slow.length) }, lane));
  const hits: number[] = [];
  let topModseq = 0; // RFC 7162 3.1.5
  for (let i = 0; i < all.length; i++) {
    if (matched[i] === 0) continue;
    hits.push(cmd.uid ? all[i]!.uid : i + 1);
    topModseq = Math.max(topModseq, all[i]!.modseq ?? 0);
  }
  const modseq = searchModseqSuffix(s, cmd.key, hits.length, topModseq, cmd.return !== undefined);
  if (cmd.return) s.send(esearchLine(tag, cmd.uid, hits, cmd.return) + modseq);
  else s.send((hits.length > 0 ? `* SEARCH ${hits.join(' ')}` : '* SEARCH') + modseq);
  return `${cmd.uid ? 'UID SEARCH' : 'SEARCH'} completed`;
}

/**
 * `* ESEARCH (TAG "t") [UID] MIN n MAX n ALL set COUNT n` (RFC 4731 3.1): in that fixed
 * order (as Dovecot), MIN/MAX/ALL left out when nothing matched, COUNT always when asked.
 * `hits` are ascending; ALL is a compressed sequence set (1:3,5).
 */
export function esearchLine(tag: string, uid: boolean, hits: number[], opts: readonly SearchReturn[]): string {
  let out = `* ESEARCH (TAG ${imapString(tag)})${uid ? ' UID' : ''}`;
  if (hits.length > 0) {
    if (opts.includes('MIN')) out += ` MIN ${hits[0]}`;
    if (opts.includes('MAX')) out += ` MAX ${hits[hits.length - 1]}`;
    if (opts.includes('ALL')) out += ` ALL ${uidSetText(hits)}`;
  }
  if (opts.includes('COUNT')) out += ` COUNT ${hits.length}`;
  return out;
}
