// The store's mod-sequences (RFC 7162): stamped by every change (ours and other programs'),
// persisted in mailserver.modseq, never lower after a restart or a torn file.
import { appendFile, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_EXPUNGED, parseModseqFile, RESERVE } from '../../src/maildir/modseq.js';
import { createMaildirStore } from '../../src/maildir/store.js';
import type { MessageSource, StoreChange } from '../../src/maildir/types.js';

const alice = { domain: 'example.test', localPart: 'alice' };
const logger = pino({ level: 'silent' });
const source = (n: number): MessageSource => ({ open: () => Readable.from([Buffer.from(`Subject: ${n}\r\n\r\nbody ${n}\r\n`)]) });

let root: string;
let store: ReturnType<typeof createMaildirStore>;
let inbox: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'modseq-'));
  store = createMaildirStore({ root, hostname: 'mx.test', logger });
  inbox = path.join(root, 'example.test', 'alice');
  await store.ensureUser(alice);
});

afterEach(async () => {
  await store.close();
  await rm(root, { recursive: true, force: true });
});

async function reopen(): Promise<void> {
  await store.close();
  store = createMaildirStore({ root, hostname: 'mx.test', logger });
}

describe('modseq', () => {
  it('stamps appends, flag changes and expunges, and keeps them across a restart', async () => {
    const changes: StoreChange[] = [];
    store.onChange((c) => changes.push(c));
    const empty = await store.listMessages(alice, 'INBOX');
    expect(empty.highestModseq).toBe(1);
    for (let i = 1; i <= 3; i++) await store.deliver(alice, 'INBOX', source(i));
    let l = await store.listMessages(alice, 'INBOX');
    expect(l.messages.map((m) => m.modseq)).toEqual([2, 3, 4]);
    expect(l.highestModseq).toBe(4);
    expect(changes.map((c) => (c.type === 'append' ? c.modseq : null))).toEqual([2, 3, 4]);

    const set = await store.setFlags(alice, 'INBOX', [1, 2], 'add', ['\\Seen']);
    expect(set.map((m) => [m.uid, m.modseq])).toEqual([[1, 5], [2, 5]]);
    // A no-op STORE does not bump (RFC 7162 3.1.3 lets the server keep the modseq).
    const again = await store.setFlags(alice, 'INBOX', [1], 'add', ['\\Seen']);
    expect(again.map((m) => m.modseq)).toEqual([5]);
    // UNCHANGEDSINCE: message 1 changed at 5, so with 4 it is left alone and reported.
    const cond = await store.setFlags(alice, 'INBOX', [1, 3], 'add', ['\\Flagged'], [], { unchangedSince: 4 });
    expect(cond.modified).toEqual([1]);
    expect(cond.map((m) => [m.uid, m.flags, m.modseq])).toEqual([[3, ['\\Flagged'], 6]]);

    expect(await store.expunge(alice, 'INBOX', [2])).toEqual([2]);
    expect(changes.at(-1)).toMatchObject({ type: 'expunge', uids: [2], modseq: 7 });
    expect(await store.expungedSince(alice, 'INBOX', 6)).toEqual([2]);
    expect(await store.expungedSince(alice, 'INBOX', 7)).toEqual([]);

    await reopen();
    l = await store.listMessages(alice, 'INBOX');
    expect(l.highestModseq).toBe(7);
    expect(l.messages.map((m) => [m.uid, m.modseq])).toEqual([[1, 5], [3, 6]]);
    expect(await store.expungedSince(alice, 'INBOX', 1)).toEqual([2]);
  });

  it('stamps changes other programs make on disk (flags by rename, a deleted file, a new file)', async () => {
    for (let i = 1; i <= 3; i++) await store.deliver(alice, 'INBOX', source(i));
    const before = await store.listMessages(alice, 'INBOX');
    const [first, , third] = before.messages.map((m) => m.baseName);
    expect(await readdir(path.join(inbox, 'new'))).toContain(first);
    await rename(path.join(inbox, 'new', first!), path.join(inbox, 'cur', `${first}:2,S`));
    await rm(path.join(inbox, 'new', third!));
    await writeFile(path.join(inbox, 'new', '1999999999.M1P1.other'), 'Subject: x\n\nx\n');
    const after = await store.listMessages(alice, 'INBOX');
    const next = before.highestModseq + 1;
    expect(after.highestModseq).toBe(next);
    expect(after.messages.map((m) => [m.uid, m.flags, m.modseq])).toEqual([
      [1, ['\\Seen'], next],
      [2, [], before.messages[1]!.modseq],
      [4, [], next],
    ]);
    expect(await store.expungedSince(alice, 'INBOX', before.highestModseq)).toEqual([3]);
  });

  it('rebuilds a torn file above every modseq it held, and forgets the expunges it cannot vouch for', async () => {
    for (let i = 1; i <= 2; i++) await store.deliver(alice, 'INBOX', source(i));
    await store.setFlags(alice, 'INBOX', [1], 'add', ['\\Seen']);
    await store.expunge(alice, 'INBOX', [2]);
    const high = (await store.listMessages(alice, 'INBOX')).highestModseq;
    await reopen();
    await appendFile(path.join(inbox, 'mailserver.modseq'), '9 12'); // a write cut short
    const l = await store.listMessages(alice, 'INBOX');
    // Above the reserved ceiling (1 + RESERVE when the file was made), not just above `high`.
    expect(high).toBeLessThan(RESERVE);
    expect(l.highestModseq).toBe(1 + RESERVE + 1);
    expect(l.messages.map((m) => m.modseq)).toEqual([1 + RESERVE + 1]);
    expect(await store.expungedSince(alice, 'INBOX', 1)).toBeNull();
    const text = await readFile(path.join(inbox, 'mailserver.modseq'), 'utf8');
    expect(parseModseqFile(text)?.torn).toBe(false);
  });

  it('a record lost with the page cache is found again and stamped above the ceiling', async () => {
    for (let i = 1; i <= 2; i++) await store.deliver(alice, 'INBOX', source(i));
    await store.listMessages(alice, 'INBOX'); // the appends' names are recorded
    const flagged = await store.setFlags(alice, 'INBOX', [1], 'add', ['\\Flagged']);
    expect(flagged[0]!.modseq).toBe(4);
    await reopen();
    // A power loss drops the last record (records are not synced; the ceiling is).
    const file = path.join(inbox, 'mailserver.modseq');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.slice(0, text.lastIndexOf('\n', text.length - 2) + 1));
    const l = await store.listMessages(alice, 'INBOX');
    expect(l.messages.map((m) => [m.uid, m.modseq])).toEqual([[1, RESERVE + 2], [2, 3]]);
    // And the next change after a restart starts above the ceiling too.
    await reopen();
    const next = await store.setFlags(alice, 'INBOX', [2], 'add', ['\\Seen']);
    expect(next[0]!.modseq).toBeGreaterThan(RESERVE + 2);
  });

  it('a deleted file on a mailbox that already gave out UIDs restarts above any counter', async () => {
    await store.deliver(alice, 'INBOX', source(1));
    await reopen();
    await rm(path.join(inbox, 'mailserver.modseq'));
    const l = await store.listMessages(alice, 'INBOX');
    expect(l.highestModseq).toBeGreaterThan(Date.now() * 100);
    expect(l.highestModseq).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
  });

  it('remembers a bounded number of expunges, then answers "unknown" for older modseqs', () => {
    const lines = ['MODSEQ1 7 1 0'];
    for (let i = 1; i <= MAX_EXPUNGED + 5; i++) lines.push(`X ${i} ${i + 1}`);
    lines.push(`T 6`);
    const parsed = parseModseqFile(lines.join('\n') + '\n')!;
    expect(parsed.torn).toBe(false);
    expect(parsed.state.floor).toBe(6);
    expect(parsed.state.expunged[0]).toEqual([6, 7]);
    expect(parsed.state.highest).toBe(MAX_EXPUNGED + 6);
  });
});
