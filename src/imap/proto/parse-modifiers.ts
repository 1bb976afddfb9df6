// CONDSTORE and QRESYNC arguments (RFC 7162 7, the formal syntax). Pure.
// - SELECT/EXAMINE parameters: (CONDSTORE) and (QRESYNC (uidvalidity modseq [known-uids [seq-match]]))
// - FETCH modifiers: (CHANGEDSINCE modseq [VANISHED])
// - STORE modifier:  (UNCHANGEDSINCE modseq)
// - SEARCH key:      MODSEQ ["/flags/\\Seen" priv|shared|all] modseq
// Mod-sequences are 63-bit (RFC 7162 7: mod-sequence-value = 1*DIGIT, < 2^63). Past what a
// JS number holds exactly (2^53) they are clamped: no modseq of ours gets that far, so a
// bigger value compares the same way.
import { parseMailbox } from './parse-args.js';
import { parseSequenceSet } from './sequence.js';
import { clip, type Cursor, utf8 } from './tokens.js';
import type { Command, QresyncParams, SeqRange } from './types.js';

const MAX_MODSEQ = (1n << 63n) - 1n;

export interface SelectParams {
  condstore?: boolean;
  qresync?: QresyncParams;
}

/** mod-sequence-value (nz) or mod-sequence-valzer (`zero` allowed), as a number (clamped). */
export function parseModseq(c: Cursor, zero: boolean, what = 'a mod-sequence'): number {
  const d = c.take((b) => b >= 0x30 && b <= 0x39);
  if (d === '') c.fail(`Expected ${what}`);
  const n = d.length > 20 ? MAX_MODSEQ + 1n : BigInt(d);
  if (n > MAX_MODSEQ) c.fail(`Mod-sequence out of range: ${clip(d)}`);
  if (n === 0n && !zero) c.fail(`Expected ${what}, got 0`);
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}

/** A UID set without `*` (RFC 7162 7: known-uids and seq-match use sequence-set, `*` makes no sense there). */
function plainSet(c: Cursor, what: string): SeqRange[] {
  const set = parseSequenceSet(c);
  if (set === '$' || set.some((r) => r.from === '*' || r.to === '*')) c.fail(`"*" is not allowed in ${what}`);
  return set;
}

const setSize = (set: readonly SeqRange[]): number =>
  set.reduce((n, r) => n + Math.abs((r.to as number) - (r.from as number)) + 1, 0);

function qresyncParams(c: Cursor): QresyncParams {
  c.sp();
  c.expect(0x28, '"(" to open the QRESYNC parameters');
  const uidValidity = c.nzNumber('a UIDVALIDITY');
  c.sp();
  const modseq = parseModseq(c, false);
  const out: QresyncParams = { uidValidity, modseq };
  if (c.maybeSp()) {
    if (c.peek() !== 0x28) out.knownUids = plainSet(c, 'known UIDs');
    if (c.peek() === 0x28 || c.maybeSp()) {
      c.expect(0x28, '"(" to open the sequence match data');
      const seqs = plainSet(c, 'sequence match data');
      c.sp();
      const uids = plainSet(c, 'sequence match data');
      c.expect(0x29, '")" to close the sequence match data');
      // RFC 7162 3.2.5.2: the two sets pair up one to one.
      if (setSize(seqs) !== setSize(uids)) c.fail('Sequence match data of different lengths');
      out.seqMatch = { seqs, uids };
    }
  }
  c.expect(0x29, '")" to close the QRESYNC parameters');
  return out;
}

/** select-params = SP "(" select-param *(SP select-param) ")" after the mailbox (RFC 4466 2.1). */
export function parseSelectParams(c: Cursor): SelectParams {
  const out: SelectParams = {};
  if (!c.maybeSp()) return out;
  c.list(
    () => {
      const name = c.keyword('a SELECT parameter');
      if (name === 'CONDSTORE') out.condstore = true;
      else if (name === 'QRESYNC') {
        if (out.qresync) c.fail('QRESYNC given twice');
        out.qresync = qresyncParams(c);
      } else c.fail(`Unknown SELECT parameter ${clip(name)}`);
    },
    false,
    'a SELECT parameter list',
  );
  return out;
}

export interface FetchModifiers {
  changedSince?: number;
  vanished?: boolean;
}

/** fetch-modifiers = SP "(" fetch-modifier *(SP fetch-modifier) ")" (RFC 4466 2.4, RFC 7162 3.1.4.1, 3.2.6). */
export function parseFetchModifiers(c: Cursor): FetchModifiers {
  const out: FetchModifiers = {};
  if (!c.maybeSp()) return out;
  if (c.peek() !== 0x28) c.fail('Unexpected extra arguments');
  c.list(
    () => {
      const name = c.keyword('a FETCH modifier');
      if (name === 'CHANGEDSINCE' && out.changedSince === undefined) {
        c.sp();
        out.changedSince = parseModseq(c, false);
      } else if (name === 'VANISHED' && !out.vanished) out.vanished = true;
      else c.fail(`Unknown or repeated FETCH modifier ${clip(name)}`);
    },
    false,
    'a FETCH modifier list',
  );
  // RFC 7162 3.2.6: VANISHED only together with CHANGEDSINCE.
  if (out.vanished && out.changedSince === undefined) c.fail('VANISHED needs CHANGEDSINCE');
  return out;
}

/** store-modifiers = "(" UNCHANGEDSINCE SP mod-sequence-valzer ")" SP, before the flags item (RFC 7162 3.1.3). */
export function parseStoreModifiers(c: Cursor): { unchangedSince?: number } {
  if (c.peek() !== 0x28) return {};
  let unchangedSince: number | undefined;
  c.list(
    () => {
      const name = c.keyword('a STORE modifier');
      if (name !== 'UNCHANGEDSINCE' || unchangedSince !== undefined) c.fail(`Unknown or repeated STORE modifier ${clip(name)}`);
      c.sp();
      unchangedSince = parseModseq(c, true);
    },
    false,
    'a STORE modifier list',
  );
  c.sp();
  return unchangedSince === undefined ? {} : { unchangedSince };
}

/**
 * search-modsequence = "MODSEQ" [search-modseq-ext] SP mod-sequence-valzer (RFC 7162 3.1.5);
 * the entry name and type are checked and ignored: our modseqs are per message, not per flag.
 */
export function parseSearchModseq(c: Cursor): bigint {
  c.sp();
  if (c.peek() === 0x22) {
    const entry = utf8(c.string('an entry name'));
    if (!/^\/flags\/\\?[^\s/]+$/i.test(entry)) c.fail('Invalid MODSEQ entry name');
    c.sp();
    const type = c.keyword('an entry type');
    if (type !== 'PRIV' && type !== 'SHARED' && type !== 'ALL') c.fail(`Invalid MODSEQ entry type ${clip(type)}`);
    c.sp();
  }
  return BigInt(parseModseq(c, true));
}

/** select / examine = ("SELECT" / "EXAMINE") SP mailbox [select-params] (RFC 4466 2.1, RFC 7162 3.1.2, 3.2.5). */
export function parseSelect(name: 'SELECT' | 'EXAMINE'): (c: Cursor) => Command {
  return (c) => {
    c.sp();
    const mailbox = parseMailbox(c);
    const params = parseSelectParams(c);
    c.end();
    const cmd: Command = { name, mailbox };
    if (params.condstore) cmd.condstore = true;
    if (params.qresync) cmd.qresync = params.qresync;
    return cmd;
  };
}
