// store.readSmallMessage(): the whole file in one read (SEARCH BODY/TEXT over big mailboxes),
// or null whenever the caller must stream with openMessage() instead.
import { appendFile, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createMaildirStore } from '../../src/maildir/store.js';

const alice = { domain: 'example.test', localPart: 'alice' };
let root: string;
let store: ReturnType<typeof createMaildirStore>;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'maildir-small-'));
  store = createMaildirStore({ root, hostname: 'mx.test', logger: pino({ level: 'silent' }) });
  await store.ensureUser(alice);
});
afterEach(async () => {
  await store.close();
  await rm(root, { recursive: true, force: true });
});

async function streamed(uid: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await store.openMessage(alice, 'INBOX', uid)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

it('gives the stored bytes whole, the same as the stream; null when too big, renamed away or grown', async () => {
  const text = 'From: bob@example.test\r\nSubject: =?ISO-2022-JP?B?GyRCJEokcxsoQg==?=\r\n\r\n' + 'line\r\n'.repeat(200);
  const { uid } = await store.deliver(alice, 'INBOX', { open: () => Readable.from([Buffer.from(text)]) });
  expect(await store.readSmallMessage(alice, 'INBOX', uid, 1 << 20)).toBeNull(); // not listed yet: nothing known of the file
  await store.listMessages(alice, 'INBOX');
  const whole = await store.readSmallMessage(alice, 'INBOX', uid, 1 << 20);
  expect(whole).not.toBeNull();
  expect(whole!.equals(await streamed(uid))).toBe(true);
  expect(whole!.toString()).toContain('line\nline\n'); // stored with LF, as Dovecot does
  expect(await store.readSmallMessage(alice, 'INBOX', uid, whole!.length - 1)).toBeNull();

  // Another program appends to the file behind our back: more bytes than listed, so stream it.
  const dir = path.join(root, 'example.test', 'alice', 'new');
  const [name] = await readdir(dir);
  await appendFile(path.join(dir, name!), 'more\n');
  expect(await store.readSmallMessage(alice, 'INBOX', uid, 1 << 20)).toBeNull();

  // …or renames it (a flag change by another program): the listed name is gone.
  await rename(path.join(dir, name!), path.join(root, 'example.test', 'alice', 'cur', `${name!.split(':')[0]}:2,S`));
  expect(await store.readSmallMessage(alice, 'INBOX', uid, 1 << 20)).toBeNull();
  expect((await streamed(uid)).toString()).toMatch(/more\n$/); // openMessage() finds it again
});
