// After our own flag renames the store reuses its last listing (issue 4: LOGIN+SELECT right
// after STORE 1:* must be cheap). These check that the reuse never hides a change: what
// listMessages() answers equals what a fresh store reading the same directory answers, and
// another program's rename or delivery in the same second is still seen.
import { mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createMaildirStore } from '../../src/maildir/store.js';
import type { MessageInfo } from '../../src/maildir/types.js';

const alice = { domain: 'example.test', localPart: 'alice' };
const logger = pino({ level: 'silent' });
let root: string;
let store: ReturnType<typeof createMaildirStore>;
const cur = (): string => path.join(root, 'example.test', 'alice', 'cur');

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'maildir-own-'));
  store = createMaildirStore({ root, hostname: 'mx.test', logger });
  await store.ensureUser(alice);
  for (let i = 0; i < 30; i++) {
    await store.deliver(alice, 'INBOX', { open: () => Readable.from([Buffer.from(`Subject: m${i}\r\n\r\nbody ${i}\r\n`)]) }, { flags: i % 3 === 0 ? ['\\Seen'] : [] });
  }
});
afterEach(async () => {
  await store.close();
  await rm(root, { recursive: true, force: true });
});

const shape = (ms: readonly MessageInfo[]): unknown[] => ms.map((m) => [m.uid, [...m.flags].sort(), [...m.keywords].sort()]);

async function fresh(): Promise<readonly MessageInfo[]> {
  const other = createMaildirStore({ root, hostname: 'mx.test', logger });
  try {
    return (await other.listMessages(alice, 'INBOX')).messages;
  } finally {
    await other.close();
  }
}

it('a listing right after STORE on every message matches a fresh read, modseqs included', async () => {
  const before = await store.listMessages(alice, 'INBOX');
  const uids = before.messages.map((m) => m.uid);
  await store.setFlags(alice, 'INBOX', uids, 'add', ['\\Flagged']);
  await store.setFlags(alice, 'INBOX', uids.slice(0, 10), 'remove', ['\\Flagged']);
  const after = await store.listMessages(alice, 'INBOX');
  expect(after.messages.filter((m) => m.flags.includes('\\Flagged')).map((m) => m.uid)).toEqual(uids.slice(10));
  expect(shape(after.messages)).toEqual(shape(await fresh()));
  // Modseqs: the ten changed twice are the newest, and HIGHESTMODSEQ is theirs.
  const top = Math.max(...after.messages.map((m) => m.modseq ?? 0));
  expect(after.highestModseq).toBe(top);
  expect(after.messages.slice(0, 10).every((m) => (m.modseq ?? 0) > (after.messages[10]!.modseq ?? 0))).toBe(true);
  expect((await fresh()).map((m) => m.modseq)).toEqual(after.messages.map((m) => m.modseq));

  // A new keyword (the keyword file changes too), then a flag change on a few.
  await store.setFlags(alice, 'INBOX', uids, 'add', [], ['$Label1']);
  await store.setFlags(alice, 'INBOX', uids.slice(20), 'add', ['\\Seen']);
  const more = await store.listMessages(alice, 'INBOX');
  expect(more.messages.every((m) => m.keywords.includes('$Label1'))).toBe(true);
  expect(more.messages.slice(20).every((m) => m.flags.includes('\\Seen'))).toBe(true);
  expect(shape(more.messages)).toEqual(shape(await fresh()));
});

it("another program's rename or delivery in the same second as our STORE is not hidden", async () => {
  const uids = (await store.listMessages(alice, 'INBOX')).messages.map((m) => m.uid);
  await store.setFlags(alice, 'INBOX', uids, 'add', ['\\Answered']);
  // At once, in the same mtime tick: another program flags one message and delivers one.
  const names = (await readdir(cur())).sort();
  const victim = names[5]!;
  await rename(path.join(cur(), victim), path.join(cur(), victim.replace(/:2,([A-Z]*)$/, (_, f: string) => `:2,${[...f, 'T'].sort().join('')}`)));
  await writeFile(path.join(root, 'example.test', 'alice', 'new', '1800000000.M1P1.other'), 'Subject: outside\n\nhi\n');
  const after = await store.listMessages(alice, 'INBOX');
  expect(after.messages).toHaveLength(31);
  expect(after.messages.filter((m) => m.flags.includes('\\Deleted'))).toHaveLength(1);
  expect(after.messages.filter((m) => m.flags.includes('\\Answered'))).toHaveLength(30);
  expect(shape(after.messages)).toEqual(shape(await fresh()));
});
