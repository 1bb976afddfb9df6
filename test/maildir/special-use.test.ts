// The special-use file (src/maildir/special-use.ts): format, tolerance of damage, and the
// store keeping it in step with CREATE, RENAME (inferiors too) and DELETE.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { parseSpecialUse, serializeSpecialUse, SPECIAL_USE_FILE } from '../../src/maildir/special-use.js';
import { createMaildirStore, type MaildirStore } from '../../src/maildir/store.js';

describe('special-use file', () => {
  it('round-trips names in modified UTF-7 levels and skips lines it cannot use', () => {
    const map = new Map([
      ['受信箱/アーカイブ', '\\Archive' as const],
      ['Old & New', '\\Trash' as const],
    ]);
    const text = serializeSpecialUse(map);
    expect(text).toBe('V\t1\n\n\\Archive\t&U9dP4Xux-\t&MKIw,DCrMKQw1g-\n\\Trash\tOld &- New\n');
    expect(parseSpecialUse(text)).toEqual(map);
    expect(parseSpecialUse(`${text}\\All\tX\n\\Sent\n\\Junk\t&bad\ngarbage\n`)).toEqual(map);
    expect(parseSpecialUse('V\t9\n\n\\Sent\tX\n').size).toBe(0); // an unknown version is not guessed at
  });
});

describe('store', () => {
  let dir: string;
  let store: MaildirStore;
  const alice = { domain: 'example.test', localPart: 'alice' };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'special-use-'));
    store = createMaildirStore({ root: dir, hostname: 'test', logger: pino({ level: 'silent' }) });
    await store.ensureUser(alice);
  });
  afterAll(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const uses = async () => Object.fromEntries((await store.listMailboxes(alice)).filter((b) => b.specialUse).map((b) => [b.name, b.specialUse]));

  it('CREATE with a use, RENAME of a parent moves its inferiors\' uses, DELETE drops the entry', async () => {
    await store.createMailbox(alice, 'Projects');
    await store.createMailbox(alice, 'Projects/Sent 2024', { specialUse: '\\Sent' });
    expect(await uses()).toMatchObject({ 'Projects/Sent 2024': '\\Sent', Sent: '\\Sent' });
    await store.renameMailbox(alice, 'Projects', 'Work');
    expect(await uses()).toMatchObject({ 'Work/Sent 2024': '\\Sent' });
    expect(Object.keys(await uses())).not.toContain('Projects/Sent 2024');
    await store.deleteMailbox(alice, 'Work/Sent 2024');
    expect(await readFile(join(dir, 'example.test', 'alice', SPECIAL_USE_FILE), 'utf8')).toBe('V\t1\n\n');
    // A damaged file costs the extra uses, not the listing.
    await writeFile(join(dir, 'example.test', 'alice', SPECIAL_USE_FILE), '\0\0garbage');
    expect(await uses()).toEqual({ Archive: '\\Archive', Drafts: '\\Drafts', Junk: '\\Junk', Sent: '\\Sent', Trash: '\\Trash' });
  });
});
