// Restores Maildir mailboxes from a backup into the live mail root while the daemon runs.
//
// - A mailbox that is new or empty on the live side is copied whole: messages, its
//   dovecot-uidlist (UIDVALIDITY, UIDs, next UID) and dovecot-keywords, so clients see
//   the same UIDs as before (what "restore into an empty data directory" needs).
// - A mailbox that already holds mail is merged: a message whose base name is already
//   there is left alone (the live copy is newer: its flags win); a missing one is added.
//   It keeps its old UID only when the UIDVALIDITY matches and the UID was never handed
//   out live (>= the live next UID): RFC 3501 2.3.1.1 forbids reusing a UID a client
//   may have seen expunged. Otherwise it gets the next free UID.
// - Keyword letters are per mailbox, so a restored file's letters are mapped through the
//   backup's dovecot-keywords to the live table.
// All changes happen under Dovecot's dotlock on dovecot-uidlist (and dovecot-keywords),
// the same lock the daemon and Dovecot take, so neither sees a half-merged mailbox.
// Messages are copied into tmp/ and renamed into place (Maildir delivery rules).
import { copyFile, mkdir, readdir, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { atomicWrite, exists, isErrno, readIfExists } from '../maildir/fsutil.js';
import { addKeywords, keywordForLetter, letterForKeyword, parseKeywords, serializeKeywords } from '../maildir/keywords.js';
import { withDotlock } from '../maildir/lock.js';
import { SPECIAL_USE_FILE } from '../maildir/special-use.js';
import { parseSubscriptions, serializeSubscriptions } from '../maildir/subscriptions.js';
import { nextUid, parseUidlist, serializeUidlist, type Uidlist } from '../maildir/uidlist.js';

export interface MailboxPlan {
  /** Relative path: <domain>/<user>[/.Folder]. */
  mailbox: string;
  action: 'create' | 'merge' | 'unchanged';
  add: number;
  /** Messages already present live (kept as they are). */
  keep: number;
  /** Added messages that keep their backed-up UID. */
  sameUid: number;
}

const UIDLIST = 'dovecot-uidlist';
const KEYWORDS = 'dovecot-keywords';
const baseOf = (name: string) => {
  const c = name.indexOf(':');
  return c < 0 ? name : name.slice(0, c);
};
const infoOf = (name: string) => {
  const i = name.indexOf(':2,');
  return i < 0 ? null : name.slice(i + 3);
};

async function listMessages(mailbox: string): Promise<Array<{ dir: 'cur' | 'new'; name: string }>> {
  const out: Array<{ dir: 'cur' | 'new'; name: string }> = [];
  for (const dir of ['cur', 'new'] as const) {
    const names = await readdir(path.join(mailbox, dir)).catch((err: unknown) => {
      if (isErrno(err, 'ENOENT')) return [] as string[];
      throw err;
    });
    for (const name of names) if (!name.startsWith('.')) out.push({ dir, name });
  }
  return out;
}

/** Mailbox directories (those with cur/) below a user's Maildir in the backup. */
async function mailboxesOf(userDir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(userDir, { withFileTypes: true });
  if (entries.some((e) => e.isDirectory() && e.name === 'cur')) out.push('');
  for (const e of entries) {
    if (e.isDirectory() && e.name.startsWith('.') && e.name !== '.' && e.name !== '..') {
      const sub = await readdir(path.join(userDir, e.name)).catch(() => [] as string[]);
      if (sub.includes('cur')) out.push(e.name);
    }
  }
  return out;
}

/** Users in the staged backup as <domain>/<user>. */
export async function backupUsers(stagedRoot: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(stagedRoot, { withFileTypes: true }).catch(() => [])) {
    if (!d.isDirectory()) continue;
    for (const u of await readdir(path.join(stagedRoot, d.name), { withFileTypes: true })) {
      if (u.isDirectory()) out.push(`${d.name}/${u.name}`);
    }
  }
  return out;
}

async function placeMessage(src: string, liveMailbox: string, sub: 'cur' | 'new', name: string): Promise<void> {
  const tmp = path.join(liveMailbox, 'tmp', `${baseOf(name)}.restore.${randomBytes(4).toString('hex')}`);
  await copyFile(src, tmp);
  await rename(tmp, path.join(liveMailbox, sub, name));
}

function remapInfo(info: string | null, from: Array<string | undefined>, to: Array<string | undefined>): string | null {
  if (info === null) return null;
  let out = '';
  for (const ch of info) {
    if (ch >= 'a' && ch <= 'z') {
      const kw = keywordForLetter(from, ch);
      const letter = kw === undefined ? undefined : letterForKeyword(to, kw);
      if (letter) out += letter;
    } else out += ch;
  }
  // Maildir wants the info letters sorted (ASCII order), as Dovecot writes them.
  return [...out].sort().join('');
}

/** Plans (dryRun) or applies the restore of one mailbox. */
async function restoreMailbox(staged: string, live: string, rel: string, dryRun: boolean): Promise<MailboxPlan> {
  const backupMsgs = await listMessages(staged);
  const backupUidText = await readIfExists(path.join(staged, UIDLIST));
  const backupList = backupUidText ? parseUidlist(backupUidText) : null;
  const backupKw = parseKeywords((await readIfExists(path.join(staged, KEYWORDS))) ?? '');
  const liveMsgs = await listMessages(live);
  const liveUidText = await readIfExists(path.join(live, UIDLIST));
  const liveValidity = liveUidText ? parseUidlist(liveUidText).uidValidity : null;
  const plan: MailboxPlan = { mailbox: rel, action: 'merge', add: 0, keep: 0, sameUid: 0 };

  // Empty live mailbox: take the backup's uidlist whole. A server started before the
  // restore may have numbered the empty mailbox already (a client looked at it); a new
  // UIDVALIDITY tells such clients to forget what they cached (RFC 3501 2.3.1.1). With the
  // same UIDVALIDITY the merge path below runs instead, so no UID is handed out twice.
  if (liveMsgs.length === 0 && (liveValidity === null || liveValidity !== backupList?.uidValidity)) {
    plan.action = 'create';
    plan.add = backupMsgs.length;
    plan.sameUid = backupList ? backupMsgs.filter((m) => backupList.records.some((r) => r.baseName === baseOf(m.name))).length : 0;
    if (dryRun) return plan;
    for (const d of ['cur', 'new', 'tmp']) await mkdir(path.join(live, d), { recursive: true, mode: 0o700 });
    for (const f of ['maildirfolder']) if (await exists(path.join(staged, f))) await copyFile(path.join(staged, f), path.join(live, f));
    await withDotlock(path.join(live, UIDLIST), async () => {
      for (const m of backupMsgs) await placeMessage(path.join(staged, m.dir, m.name), live, m.dir, m.name);
      const kw = await readIfExists(path.join(staged, KEYWORDS));
      if (kw !== null) await atomicWrite(path.join(live, KEYWORDS), kw);
      if (backupUidText !== null) await atomicWrite(path.join(live, UIDLIST), backupUidText);
    });
    return plan;
  }

  const liveBases = new Set(liveMsgs.map((m) => baseOf(m.name)));
  const missing = backupMsgs.filter((m) => !liveBases.has(baseOf(m.name)));
  plan.keep = backupMsgs.length - missing.length;
  plan.add = missing.length;
  if (missing.length === 0) {
    plan.action = 'unchanged';
    return plan;
  }
  const uidOf = new Map((backupList?.records ?? []).map((r) => [r.baseName, r]));
  // Ascending backup UID; messages the backup never numbered go last.
  missing.sort((a, b) => (uidOf.get(baseOf(a.name))?.uid ?? Infinity) - (uidOf.get(baseOf(b.name))?.uid ?? Infinity));

  const apply = async (liveList: Uidlist | null) => {
    let next = liveList ? nextUid(liveList) : 1;
    const sameValidity = liveList !== null && backupList !== null && liveList.uidValidity === backupList.uidValidity;
    let same = 0;
    for (const m of missing) {
      const rec = uidOf.get(baseOf(m.name));
      if (rec && sameValidity && rec.uid >= next) same++;
      if (rec && sameValidity && rec.uid >= next) next = rec.uid + 1;
      else next++;
    }
    return same;
  };

  if (dryRun) {
    const t = await readIfExists(path.join(live, UIDLIST));
    plan.sameUid = await apply(t ? parseUidlist(t) : null);
    return plan;
  }

  await withDotlock(path.join(live, UIDLIST), async () => {
    const t = await readIfExists(path.join(live, UIDLIST));
    const liveList = t ? parseUidlist(t) : null;
    plan.sameUid = await apply(liveList);
    // Keywords first: the files we add must only use letters the table defines.
    const kwFile = path.join(live, KEYWORDS);
    let liveKw = parseKeywords((await readIfExists(kwFile)) ?? '');
    const needed = [...new Set(missing.flatMap((m) => [...(infoOf(m.name) ?? '')].filter((c) => c >= 'a' && c <= 'z').map((c) => keywordForLetter(backupKw, c)).filter((k): k is string => !!k)))];
    if (needed.length > 0) {
      await withDotlock(kwFile, async () => {
        liveKw = parseKeywords((await readIfExists(kwFile)) ?? '');
        if (addKeywords(liveKw, needed)) await atomicWrite(kwFile, serializeKeywords(liveKw));
      });
    }
    const list: Uidlist = liveList ?? { version: 3, uidValidity: backupList?.uidValidity ?? Math.floor(Date.now() / 1000), headerNextUid: 1, guid: '', headerExtra: [], records: [] };
    const sameValidity = liveList !== null && backupList !== null && liveList.uidValidity === backupList.uidValidity;
    let next = nextUid(list);
    for (const m of missing) {
      const rec = uidOf.get(baseOf(m.name));
      const uid = rec && sameValidity && rec.uid >= next ? rec.uid : next;
      next = uid + 1;
      const info = remapInfo(infoOf(m.name), backupKw, liveKw);
      const name = info === null ? baseOf(m.name) : `${baseOf(m.name)}:2,${info}`;
      await placeMessage(path.join(staged, m.dir, m.name), live, m.dir, name);
      list.records.push({ uid, baseName: baseOf(m.name), ext: rec?.ext ?? [] });
    }
    list.headerNextUid = next;
    await atomicWrite(path.join(live, UIDLIST), serializeUidlist(list));
  });
  return plan;
}

/** Restores (or with dryRun plans) every mailbox of every user in the staged backup. */
export async function restoreMail(stagedRoot: string, mailRoot: string, dryRun: boolean): Promise<MailboxPlan[]> {
  const plans: MailboxPlan[] = [];
  for (const user of await backupUsers(stagedRoot)) {
    const stagedUser = path.join(stagedRoot, user);
    const liveUser = path.join(mailRoot, user);
    if (!dryRun) await mkdir(liveUser, { recursive: true, mode: 0o700 });
    for (const mb of await mailboxesOf(stagedUser)) {
      plans.push(await restoreMailbox(path.join(stagedUser, mb), path.join(liveUser, mb), mb ? `${user}/${mb}` : user, dryRun));
    }
    if (dryRun) continue;
    // subscriptions: the union of both lists; UIDVALIDITY counter: keep the larger.
    const subs = await readIfExists(path.join(stagedUser, 'subscriptions'));
    if (subs !== null) {
      const liveSubs = (await readIfExists(path.join(liveUser, 'subscriptions'))) ?? '';
      const names = [...new Set([...parseSubscriptions(liveSubs), ...parseSubscriptions(subs)])];
      const text = serializeSubscriptions(names);
      if (text !== liveSubs) await atomicWrite(path.join(liveUser, 'subscriptions'), text);
    }
    // Folders' special uses (CREATE-SPECIAL-USE): the live file wins when both exist.
    for (const f of await readdir(stagedUser)) {
      const copy = f.startsWith('dovecot-uidvalidity') || f === SPECIAL_USE_FILE;
      if (copy && !(await exists(path.join(liveUser, f)))) await copyFile(path.join(stagedUser, f), path.join(liveUser, f));
    }
    // maildirsize is recomputed from the Maildir when missing (Maildir++ quota spec).
    await unlink(path.join(liveUser, 'maildirsize')).catch(() => undefined);
  }
  return plans;
}
