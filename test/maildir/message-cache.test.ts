// MessageCache on its own: batching, the memory bound, compaction of expunged records, and
// what a second process (a restart) reads back. The daemon-level checks are in
// test/imap/cache.test.ts.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CACHE_FILE, MessageCache } from '../../src/maildir/message-cache.js';
import { scanBuffer } from '../../src/mime/scanner.js';

const logger = pino({ level: 'silent' });
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'msgcache-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const part = (i: number) => scanBuffer(Buffer.from(`From: a${i}@example.org\nSubject: message ${i}\nContent-Type: text/plain; title*=utf-8''%E2%9C%93\n\nbody ${i}\n`));
const key = (i: number) => ({ baseName: `1700000000.M${i}P1.host,S=50,W=55`, size: 50 + i, mtime: 1700000000000 + i });

async function lines(): Promise<string[]> {
  return (await readFile(join(dir, CACHE_FILE), 'latin1')).split('\n').filter((l) => l.length > 0);
}

describe('MessageCache', () => {
  it('appends in batches, reads back after a restart, and ignores entries whose key changed', async () => {
    const a = new MessageCache({ logger });
    for (let i = 0; i < 300; i++) a.put(dir, key(i), part(i));
    await a.flush();
    expect(await lines()).toHaveLength(301); // header + one record each
    const b = new MessageCache({ logger });
    expect(b.peek(dir, key(7))).toBeUndefined(); // nothing in memory before the file is read
    expect(await b.get(dir, key(7))).toEqual(part(7));
    // Non-ASCII parameter values survive (the file stays ASCII).
    expect((await b.get(dir, key(8)))!.contentType.params.title).toBe('✓');
    expect(await b.get(dir, { ...key(9), size: 1 })).toBeUndefined();
    expect(await b.get(dir, { ...key(9), mtime: 1 })).toBeUndefined();
  });

  it('keeps memory bounded and reads evicted entries from the file', async () => {
    const a = new MessageCache({ logger, maxBytes: 20_000 });
    for (let i = 0; i < 200; i++) a.put(dir, key(i), part(i));
    await a.flush();
    expect(a.peek(dir, key(0))).toBeUndefined(); // evicted: the bound holds a few dozen
    expect(a.peek(dir, key(199))).toEqual(part(199));
    expect(await a.get(dir, key(0))).toEqual(part(0)); // from the file, by offset
  });

  it('keeps what is being used: an entry read between insertions outlives the others', async () => {
    const a = new MessageCache({ logger, maxBytes: 20_000 });
    for (let i = 0; i < 200; i++) {
      a.put(dir, key(i), part(i));
      expect(a.peek(dir, key(0)), `after ${i}`).toEqual(part(0)); // in use all along
    }
    expect(a.peek(dir, key(1))).toBeUndefined(); // put as early, never read: evicted
    expect(a.peek(dir, key(199))).toEqual(part(199));
    await a.flush();
  });

  it('compacts the file once expunged records outnumber the live ones', async () => {
    const a = new MessageCache({ logger });
    for (let i = 0; i < 600; i++) a.put(dir, key(i), part(i));
    await a.flush();
    a.forget(dir, Array.from({ length: 400 }, (_, i) => key(i).baseName));
    await a.flush();
    const after = await lines();
    expect(after).toHaveLength(201);
    const b = new MessageCache({ logger });
    expect(await b.get(dir, key(0))).toBeUndefined();
    expect(await b.get(dir, key(599))).toEqual(part(599));
  });
});
