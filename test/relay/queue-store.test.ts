// The queue's commit marker: <id>.msg is written under its final name and counts only once
// its envelope trailer is there. Incomplete files are skipped while this process writes them
// and removed at start-up (a crash mid-DATA: the client never got 250).
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newQueueId, QueueStore } from '../../src/relay/queue-store.js';

let dir: string;
let store: QueueStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'queue-store-'));
  store = new QueueStore(join(dir, 'q'));
  await store.init();
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const envelope = { mailFrom: 'a@x.test', user: 'a@x.test', recipients: [{ address: 'b@remote.test' }], prefix: '', createdAt: 1 };

describe('queue store commit marker', () => {
  it('a message being written is not listed (nor deleted); once committed it is', async () => {
    const w = await store.create(newQueueId());
    await w.write(Buffer.from('Subject: x\r\n\r\nbody\r\n'));
    await w.flush(); // bytes are buffered (and the file opened) in the background until then
    expect(await store.list()).toEqual([]);
    expect(await store.list({ cleanTmp: true })).toEqual([]);
    expect(await readdir(store.dir)).toEqual([`${w.id}.msg`]);
    const env = await w.commit(envelope);
    expect(await store.list()).toEqual([w.id]);
    expect(await store.readEnvelope(w.id)).toEqual(env);
    expect(env.size).toBe(Buffer.byteLength('Subject: x\r\n\r\nbody\r\n'));
  });

  it('an aborted message leaves nothing', async () => {
    const w = await store.create(newQueueId());
    await w.write(Buffer.from('Subject: x\r\n\r\n'));
    await w.abort();
    expect(await readdir(store.dir)).toEqual([]);
    expect(store.writing.size).toBe(0);
  });

  it('at start-up, files without a valid trailer are removed and committed ones kept', async () => {
    const good = await store.create(newQueueId());
    await good.write(Buffer.from('Subject: ok\r\n\r\nfine\r\n'));
    await good.commit(envelope);
    const other = newQueueId();
    const torn = [
      '', // created, nothing written
      'Subject: half\r\n\r\nbody', // no trailer
      'Subject: t\r\n\r\nb\r\n\n{"id":"', // trailer cut short
      `b\r\n\n{"id":"${other}","size":3}\n${'0'.repeat(14)}1d`, // a trailer naming another id
    ];
    const ids: string[] = [];
    for (const [i, text] of torn.entries()) {
      const id = newQueueId(Date.now() + i + 1);
      ids.push(id);
      await writeFile(join(store.dir, `${id}.msg`), text);
      await writeFile(join(store.dir, `${id}.log`), '{"t":"retry","at":1}\n');
    }
    await writeFile(join(store.dir, `${newQueueId()}.tmp`), 'older layout');
    // Readers in other processes (CLI, admin views) skip them without deleting.
    expect((await store.loadAll()).map((it) => it.env.id)).toEqual([good.id]);
    expect(await store.list({ cleanTmp: true })).toEqual([good.id]);
    expect(await readdir(store.dir)).toEqual([`${good.id}.msg`]);
  });

  // Writes are buffered (128 KiB) and a small message's body is kept in memory for its first
  // relay attempt: what the relay reads must be the stored bytes either way, and a second
  // store over the same directory (a restart) must read the same from the file.
  it('bodies read back byte for byte, from memory and from disk, small and larger than the write buffer', async () => {
    const line = (i: number): string => `line ${i} ${'x'.repeat(i % 97)}\r\n`;
    for (const lines of [3, 6000]) {
      const w = await store.create(newQueueId());
      const chunks = Array.from({ length: lines }, (_, i) => Buffer.from(line(i)));
      for (let i = 0; i < chunks.length; i += 37) await w.write(Buffer.concat(chunks.slice(i, i + 37)));
      const env = await w.commit(envelope);
      const want = Buffer.concat(chunks);
      expect(env.size).toBe(want.length);
      const read = async (s: QueueStore): Promise<Buffer> => {
        const out: Buffer[] = [];
        for await (const c of s.openBody(env) as AsyncIterable<Buffer>) out.push(c);
        return Buffer.concat(out);
      };
      expect((await read(store)).equals(want)).toBe(true);
      store.dropBody(env.id);
      expect((await read(store)).equals(want)).toBe(true);
      expect((await read(new QueueStore(store.dir))).equals(want)).toBe(true);
      expect(await new QueueStore(store.dir).readEnvelope(env.id)).toEqual(env);
    }
  });
});
