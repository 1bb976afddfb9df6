import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMaildirStore } from '../../src/maildir/store.js';
import { StoreError, type MessageSource, type StoreChange } from '../../src/maildir/types.js';

const alice = { domain: 'example.test', localPart: 'alice' };
const logger = pino({ level: 'silent' });

function source(text: string): MessageSource {
  return { open: () => Readable.from([Buffer.from(text)]) };
}

function message(n: number): string {
  return `From: bob@example.test\r\nSubject: test ${n}\r\n\r\nHello ${n}\r\n`;
}

async function readAll(r: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

let root: string;
let store: ReturnType<typeof createMaildirStore>;
let home: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'maildir-'));
  store = createMaildirStore({ root, hostname: 'mx.example/test:1', logger });
  home = path.join(root, 'example.test', 'alice');
  await store.ensureUser(alice);
});

afterEach(async () => {
  await store.close();
  await rm(root, { recursive: true, force: true });
});

describe('new user', () => {
  it('gets INBOX and the special folders, all subscribed', async () => {
    const boxes = await store.listMailboxes(alice);
    expect(boxes.map((b) => [b.name, b.specialUse, b.subscribed])).toEqual([
      ['INBOX', undefined, true],
      ['Archive', '\\Archive', true],
      ['Drafts', '\\Drafts', true],
      ['Junk', '\\Junk', true],
      ['Sent', '\\Sent', true],
      ['Trash', '\\Trash', true],
    ]);
    expect(new Set(boxes.map((b) => b.uidValidity)).size).toBe(6); // distinct per mailbox
    expect(await readFile(path.join(home, 'subscriptions'), 'utf8')).toBe('V\t2\n\nINBOX\nDrafts\nSent\nJunk\nTrash\nArchive\n');
    expect((await readdir(home)).sort()).toEqual(
      expect.arrayContaining(['.Archive', '.Drafts', '.Junk', '.Sent', '.Trash', 'cur', 'new', 'tmp', 'dovecot-uidlist']),
    );
    await store.ensureUser(alice); // idempotent
    expect(await store.listMailboxes(alice)).toEqual(boxes);
  });
});

describe('deliver and list', () => {
  it('stores LF, names the file like Dovecot and assigns UIDs', async () => {
    const r1 = await store.deliver(alice, 'INBOX', source(message(1)));
    const r2 = await store.deliver(alice, 'INBOX', source(message(2)));
    expect([r1.uid, r2.uid]).toEqual([1, 2]);
    const stored = message(1).replace(/\r\n/g, '\n');
    expect(r1.size).toBe(stored.length);
    expect(r1.vsize).toBe(message(1).length);
    const files = await readdir(path.join(home, 'new'));
    expect(files).toHaveLength(2);
    for (const f of files) expect(f).toMatch(/^\d+\.M\d+P\d+\.mx\.example\\057test\\0721,S=\d+,W=\d+$/);
    expect(await readFile(path.join(home, 'new', r1.baseName), 'utf8')).toBe(stored);
    const uidlist = await readFile(path.join(home, 'dovecot-uidlist'), 'utf8');
    expect(uidlist).toMatch(new RegExp(`^3 V${r1.uidValidity} N1 G[0-9a-f]{32}\n1 :${r1.baseName.replace(/[\\.]/g, '\\$&')}\n2 :`));
    const { uidValidity, uidNext, messages } = await store.listMessages(alice, 'INBOX');
    expect(uidValidity).toBe(r1.uidValidity);
    expect(uidNext).toBe(3);
    expect(messages.map((m) => [m.uid, m.isNew, m.size, m.vsize])).toEqual([
      [1, true, r1.size, r1.vsize],
      [2, true, r2.size, r2.vsize],
    ]);
    expect(await readAll(await store.openMessage(alice, 'INBOX', 2))).toBe(message(2).replace(/\r\n/g, '\n'));
    await expect(store.openMessage(alice, 'INBOX', 9)).rejects.toMatchObject({ code: 'no-message' });
    expect((await readdir(path.join(home, 'tmp'))).length).toBe(0);
  });

  it('delivers with flags, keywords and an internal date straight to cur/', async () => {
    const date = new Date('2020-01-02T03:04:05Z');
    const r = await store.deliver(alice, 'Sent', source(message(1)), { flags: ['\\Seen'], keywords: ['$Label1'], internalDate: date });
    const cur = await readdir(path.join(home, '.Sent', 'cur'));
    expect(cur).toEqual([`${r.baseName}:2,Sa`]);
    const { messages } = await store.listMessages(alice, 'Sent');
    expect(messages[0]).toMatchObject({ uid: 1, flags: ['\\Seen'], keywords: ['$Label1'], isNew: false, internalDate: date });
  });

  it('refuses unknown mailboxes and bad names', async () => {
    await expect(store.deliver(alice, 'Nope', source('x'))).rejects.toMatchObject({ code: 'no-mailbox' });
    await expect(store.listMessages(alice, '../x')).rejects.toBeInstanceOf(StoreError);
    await expect(store.listMessages({ domain: '..', localPart: 'alice' }, 'INBOX')).rejects.toMatchObject({ code: 'invalid-name' });
  });

  it('gives 50 concurrent deliveries 50 distinct UIDs and files', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.deliver(alice, 'INBOX', source(message(i)))));
    expect(new Set(results.map((r) => r.uid)).size).toBe(50);
    expect(results.map((r) => r.uid).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await readdir(path.join(home, 'new'))).toHaveLength(50);
    const { messages, uidNext } = await store.listMessages(alice, 'INBOX');
    expect(messages).toHaveLength(50);
    expect(uidNext).toBe(51);
  });

  it('leaves nothing behind when the source stream fails', async () => {
    const failing: MessageSource = {
      open: () =>
        Readable.from(
          (async function* () {
            yield Buffer.from('Subject: half\r\n\r\n');
            yield Buffer.from('x'.repeat(100_000));
            throw new Error('client went away');
          })(),
        ),
    };
    await expect(store.deliver(alice, 'INBOX', failing)).rejects.toThrow('client went away');
    expect(await readdir(path.join(home, 'new'))).toEqual([]);
    expect(await readdir(path.join(home, 'cur'))).toEqual([]);
    expect(await readdir(path.join(home, 'tmp'))).toEqual([]);
    expect((await store.listMessages(alice, 'INBOX')).messages).toEqual([]);
  });
});

describe('flags, expunge, copy, move', () => {
  it('renames files for flags and keywords and keeps UIDs', async () => {
    await store.deliver(alice, 'INBOX', source(message(1)));
    await store.deliver(alice, 'INBOX', source(message(2)));
    let changed = await store.setFlags(alice, 'INBOX', [1, 2], 'add', ['\\Seen', '\\Flagged'], ['$Label1', 'Junk']);
    expect(changed.map((m) => [m.uid, m.flags, m.keywords, m.isNew])).toEqual([
      [1, ['\\Flagged', '\\Seen'], ['$Label1', 'Junk'], false],
      [2, ['\\Flagged', '\\Seen'], ['$Label1', 'Junk'], false],
    ]);
    expect(await readFile(path.join(home, 'dovecot-keywords'), 'utf8')).toBe('0 $Label1\n1 Junk\n');
    changed = await store.setFlags(alice, 'INBOX', [2], 'remove', ['\\Flagged'], ['$label1']);
    expect(changed[0]).toMatchObject({ flags: ['\\Seen'], keywords: ['Junk'] });
    changed = await store.setFlags(alice, 'INBOX', [1], 'set', ['\\Answered'], []);
    expect(changed[0]).toMatchObject({ flags: ['\\Answered'], keywords: [] });
    const cur = (await readdir(path.join(home, 'cur'))).sort();
    expect(cur.map((f) => f.split(':')[1])).toEqual(expect.arrayContaining(['2,R', '2,Sb']));
    await expect(store.setFlags(alice, 'INBOX', [1], 'add', [], ['bad keyword'])).rejects.toMatchObject({ code: 'invalid-name' });
  });

  it('expunges, copies with new UIDs and keywords remapped, moves', async () => {
    for (let i = 0; i < 3; i++) await store.deliver(alice, 'INBOX', source(message(i)));
    await store.setFlags(alice, 'INBOX', [2], 'add', ['\\Seen'], ['Important']);
    await store.deliver(alice, 'Archive', source(message(9)), { keywords: ['Other'] });
    const copied = await store.copy(alice, 'INBOX', [2, 3, 77], 'Archive');
    expect([...copied]).toEqual([
      [2, 2],
      [3, 3],
    ]);
    const archive = await store.listMessages(alice, 'Archive');
    expect(archive.messages.map((m) => [m.uid, m.flags, m.keywords])).toEqual([
      [1, [], ['Other']],
      [2, ['\\Seen'], ['Important']],
      [3, [], []],
    ]);
    expect(await readFile(path.join(home, '.Archive', 'dovecot-keywords'), 'utf8')).toBe('0 Other\n1 Important\n');
    expect(await store.expunge(alice, 'INBOX', [1, 42])).toEqual([1]);
    const moved = await store.move(alice, 'INBOX', [2, 3], 'Trash');
    expect([...moved]).toEqual([
      [2, 1],
      [3, 2],
    ]);
    expect((await store.listMessages(alice, 'INBOX')).messages).toEqual([]);
    expect((await store.listMessages(alice, 'Trash')).messages.map((m) => m.uid)).toEqual([1, 2]);
    expect(await readAll(await store.openMessage(alice, 'Trash', 1))).toBe(message(1).replace(/\r\n/g, '\n'));
  });

  it('keeps UIDs of files renamed or added by another program', async () => {
    const r1 = await store.deliver(alice, 'INBOX', source(message(1)));
    await store.deliver(alice, 'INBOX', source(message(2)));
    // What Dovecot does on SELECT + STORE: new/ → cur/ with an info part.
    await rename(path.join(home, 'new', r1.baseName), path.join(home, 'cur', `${r1.baseName}:2,FS`));
    // An MDA that does not know about dovecot-uidlist; older-named ones get UIDs first.
    await writeFile(path.join(home, 'new', '2000000001.M2P9.other'), 'Subject: b\n\nb\n');
    await writeFile(path.join(home, 'new', '2000000000.M1P9.other'), 'Subject: a\n\na\n');
    const { messages, uidNext } = await store.listMessages(alice, 'INBOX');
    expect(messages.map((m) => [m.uid, m.flags, m.baseName.split(',')[0]])).toEqual([
      [1, ['\\Flagged', '\\Seen'], r1.baseName.split(',')[0]],
      [2, [], expect.any(String)],
      [3, [], '2000000000.M1P9.other'],
      [4, [], '2000000001.M2P9.other'],
    ]);
    expect(messages[2]).toMatchObject({ size: 14, vsize: 17 });
    expect(uidNext).toBe(5);
  });
});

describe('folders and subscriptions', () => {
  it('creates, renames (with children) and deletes folders', async () => {
    await store.createMailbox(alice, 'Projects');
    await store.createMailbox(alice, 'Projects/2024');
    await store.createMailbox(alice, '受信箱/アーカイブ');
    await expect(store.createMailbox(alice, 'Projects')).rejects.toMatchObject({ code: 'exists' });
    await expect(store.createMailbox(alice, 'a.b')).rejects.toMatchObject({ code: 'invalid-name' });
    expect(await readdir(home)).toEqual(expect.arrayContaining(['.Projects', '.Projects.2024', '.&U9dP4Xux-.&MKIw,DCrMKQw1g-']));
    expect(await readdir(path.join(home, '.Projects.2024'))).toEqual(expect.arrayContaining(['cur', 'new', 'tmp', 'maildirfolder', 'dovecot-uidlist']));
    await store.deliver(alice, 'Projects/2024', source(message(1)));
    const before = (await store.listMailboxes(alice)).find((b) => b.name === 'Projects/2024')!;
    await store.setSubscribed(alice, 'Projects/2024', true);

    await store.renameMailbox(alice, 'Projects', 'Old/Projects');
    const names = (await store.listMailboxes(alice)).map((b) => b.name);
    expect(names).toEqual(expect.arrayContaining(['Old/Projects', 'Old/Projects/2024', '受信箱/アーカイブ']));
    expect(names).not.toContain('Projects');
    const after = (await store.listMailboxes(alice)).find((b) => b.name === 'Old/Projects/2024')!;
    expect(after).toMatchObject({ uidValidity: before.uidValidity, uidNext: 2, subscribed: true });
    await expect(store.renameMailbox(alice, 'Nope', 'X')).rejects.toMatchObject({ code: 'no-mailbox' });
    await expect(store.renameMailbox(alice, 'Sent', 'Trash')).rejects.toMatchObject({ code: 'exists' });

    await store.deleteMailbox(alice, 'Old/Projects');
    const left = (await store.listMailboxes(alice)).map((b) => b.name);
    expect(left).not.toContain('Old/Projects');
    expect(left).toContain('Old/Projects/2024'); // Maildir++: children are their own directories
    await expect(store.deleteMailbox(alice, 'Old/Projects')).rejects.toMatchObject({ code: 'no-mailbox' });
    await expect(store.deleteMailbox(alice, 'INBOX')).rejects.toMatchObject({ code: 'invalid-name' });
    expect((await readdir(home)).filter((n) => n.startsWith('DOVECOT-TRASHED'))).toEqual([]);
  });

  it('renaming INBOX moves its messages', async () => {
    await store.deliver(alice, 'INBOX', source(message(1)));
    await store.renameMailbox(alice, 'INBOX', 'Old mail');
    expect((await store.listMessages(alice, 'INBOX')).messages).toEqual([]);
    expect((await store.listMessages(alice, 'Old mail')).messages).toHaveLength(1);
  });

  it('subscribes and unsubscribes, reading the old format too', async () => {
    await store.setSubscribed(alice, 'Trash', false);
    await store.setSubscribed(alice, '受信箱', true);
    await store.setSubscribed(alice, 'A&B', true);
    expect(await readFile(path.join(home, 'subscriptions'), 'utf8')).toBe('V\t2\n\nINBOX\nDrafts\nSent\nJunk\nArchive\n&U9dP4Xux-\nA&-B\n');
    await writeFile(path.join(home, 'subscriptions'), 'INBOX\nSent\n');
    const subs = (await store.listMailboxes(alice)).filter((b) => b.subscribed).map((b) => b.name);
    expect(subs).toEqual(['INBOX', 'Sent']);
  });
});

describe('quota', () => {
  it('computes maildirsize when missing and appends deltas', async () => {
    expect(await store.quotaUsage(alice)).toEqual({ bytes: 0, messages: 0 });
    const a = await store.deliver(alice, 'INBOX', source(message(1)));
    const b = await store.deliver(alice, 'Sent', source(message(22)));
    expect(await store.quotaUsage(alice)).toEqual({ bytes: a.size + b.size, messages: 2 });
    await store.copy(alice, 'INBOX', [1], 'Archive');
    await store.expunge(alice, 'Sent', [1]);
    expect(await store.quotaUsage(alice)).toEqual({ bytes: 2 * a.size, messages: 2 });
    const text = await readFile(path.join(home, 'maildirsize'), 'utf8');
    expect(text.split('\n')[0]).toBe('0S,0C');
    expect(text.split('\n').length).toBeGreaterThan(3);
    await writeFile(path.join(home, 'maildirsize'), '5000S\n' + '1 1\n'.repeat(2000)); // too long: recompute
    expect(await store.quotaUsage(alice)).toEqual({ bytes: 2 * a.size, messages: 2 });
    expect(await readFile(path.join(home, 'maildirsize'), 'utf8')).toBe(`5000S\n${2 * a.size} 2\n`);
  });
});

describe('change events', () => {
  it('emits records for own writes', async () => {
    const seen: StoreChange[] = [];
    const off = store.onChange((c) => seen.push(c));
    await store.deliver(alice, 'INBOX', source(message(1)));
    await store.setFlags(alice, 'INBOX', [1], 'add', ['\\Seen']);
    await store.move(alice, 'INBOX', [1], 'Trash');
    await store.createMailbox(alice, 'X');
    await store.renameMailbox(alice, 'X', 'Y');
    await store.deleteMailbox(alice, 'Y');
    off();
    await store.deliver(alice, 'INBOX', source(message(2)));
    expect(seen.map((c) => [c.type, c.mailbox])).toEqual([
      ['append', 'INBOX'],
      ['flags', 'INBOX'],
      ['append', 'Trash'],
      ['expunge', 'INBOX'],
      ['mailbox-create', 'X'],
      ['mailbox-rename', 'X'],
      ['mailbox-delete', 'Y'],
    ]);
  });

  it('reports changes by other programs through watch()', async () => {
    const r = await store.deliver(alice, 'INBOX', source(message(1)));
    const stop = store.watch(alice);
    await stop.ready;
    const next = (mailbox: string) =>
      new Promise<StoreChange>((resolve) => {
        const off = store.onChange((c) => {
          if (c.type === 'external' && c.mailbox === mailbox) {
            off();
            resolve(c);
          }
        });
      });
    let wait = next('INBOX');
    const started = Date.now();
    await rename(path.join(home, 'new', r.baseName), path.join(home, 'cur', `${r.baseName}:2,S`));
    expect(await wait).toMatchObject({ type: 'external', user: alice, mailbox: 'INBOX' });
    expect(Date.now() - started).toBeLessThan(1000);

    wait = next('Sent');
    await writeFile(path.join(home, '.Sent', 'new', '1.M1P1.elsewhere'), 'Subject: x\n\nx\n');
    await wait;

    // A folder made by another program is watched as soon as it appears.
    wait = next('Later');
    await mkdir(path.join(home, '.Later', 'new'), { recursive: true });
    await wait;

    // Our own writes are announced on the bus, not again as 'external'.
    const external: StoreChange[] = [];
    const off = store.onChange((c) => c.type === 'external' && external.push(c));
    await store.deliver(alice, 'Drafts', source(message(3)));
    await store.setFlags(alice, 'Drafts', [1], 'add', ['\\Seen']);
    // The watcher debounces for 50 ms; an external write after ours proves the queue was drained.
    wait = next('Drafts');
    await writeFile(path.join(home, '.Drafts', 'new', '2.M1P1.elsewhere'), 'x\n');
    await wait;
    expect(external.filter((c) => c.mailbox === 'Drafts')).toHaveLength(1);
    off();
    stop();
  });
});
