// The relay thread on its own (the daemon-level relay and DKIM suites drive it through the
// queue): a signature made from bytes handed over in memory equals one made from the queue
// file, requests get answers without a smart host, and a thread that goes away mid-send or
// cannot start makes its requests fail instead of hanging (the queue worker then retries as
// after a 4xx).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateDkimKey } from '../../src/relay/dkim-keys.js';
import { createRelayThread, type Relay } from '../../src/relay/relay-client.js';
import type { QueueEnvelope } from '../../src/relay/queue-store.js';
import type { SmartHostConfig } from '../../src/relay/smarthost.js';

const log = pino({ level: 'silent' });
const noHost: SmartHostConfig = { port: 587, implicitTls: false, user: 'apikey', rejectUnauthorized: true, connectionTimeoutSeconds: 5, concurrency: 1 };
const bytes = Buffer.from('From: A <a@sign.test>\r\nTo: b@remote.test\r\nSubject: hi\r\nDate: Mon, 23 Nov 2026 05:00:00 +0000\r\n\r\nHello  there \r\n\r\n\r\n');

let dir: string;
let relay: Relay | null = null;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'relay-thread-'));
});
afterEach(async () => {
  await relay?.close();
  relay = null;
  await rm(dir, { recursive: true, force: true });
});

const envelope = (over: Partial<QueueEnvelope> = {}): QueueEnvelope => ({
  id: '000000000aaaaaaaaaaaa',
  mailFrom: 'a@sign.test',
  user: 'a@sign.test',
  recipients: [{ address: 'b@remote.test' }],
  prefix: 'Received: by test\r\n',
  size: bytes.length,
  createdAt: 1,
  ...over,
});

describe('relay thread', () => {
  it('signs the same bytes alike from memory and from the file; without a smart host every recipient gets 451', async () => {
    const keyDir = join(dir, 'dkim');
    await generateDkimKey(keyDir, 'sign.test', 'rsa1', 'rsa');
    await generateDkimKey(keyDir, 'sign.test', 'ed1', 'ed25519');
    const path = join(dir, 'm.msg');
    await writeFile(path, bytes);
    relay = createRelayThread({ smartHost: noHost, hostname: 'relay.test', dkim: { keyDir, selectors: {} } }, log);
    await relay.start();
    const env = envelope({ dkim: 'sign.test' });
    const fromMemory = await relay.sign(env, { chunks: [bytes.subarray(0, 20), bytes.subarray(20)], path, size: bytes.length }, log);
    const fromFile = await relay.sign(env, { chunks: null, path, size: bytes.length }, log);
    const bh = (h: string) => [...h.matchAll(/bh=([^;]+);/g)].map((m) => m[1]);
    expect(bh(fromMemory)).toHaveLength(2);
    expect(bh(fromFile)).toEqual(bh(fromMemory));
    expect(fromMemory).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256;[\s\S]*\r\nDKIM-Signature: v=1; a=ed25519-sha256;/);

    const r = await relay.send(env, env.recipients, { chunks: [bytes], path, size: bytes.length }, log);
    expect([...r.outcomes]).toEqual([['b@remote.test', { code: 451, text: '4.3.0 No smart host configured (relay.host)' }]]);
    expect(bh(r.dkim ?? '')).toEqual(bh(fromMemory));
    // A domain without keys: nothing to sign, and that is not an error.
    expect(await relay.sign(envelope({ dkim: 'other.test' }), { chunks: [bytes], path, size: bytes.length }, log)).toBe('');
  });

  it('a thread that goes away mid-send fails that request, and the next request gets a new thread', async () => {
    // A smart host that greets and then never answers: the send is still open when the thread goes.
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((sock) => {
      sockets.add(sock);
      sock.on('error', () => {});
      sock.write('220 silent.test ESMTP\r\n');
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      relay = createRelayThread({ smartHost: { ...noHost, host: '127.0.0.1', port, connectionTimeoutSeconds: 60 }, hostname: 'relay.test', dkim: null }, log);
      const env = envelope();
      const sending = relay.send(env, env.recipients, { chunks: [bytes], path: join(dir, 'none'), size: bytes.length }, log);
      sending.catch(() => {});
      await expect.poll(() => sockets.size).toBeGreaterThan(0); // the thread is talking to the smart host
      const t0 = Date.now();
      await relay.close(); // asks the thread to close, and terminates it after a grace period
      await expect(sending).rejects.toThrow(/relay thread exited/);
      expect(Date.now() - t0).toBeLessThan(10_000);
      // A new thread for the next request: it answers (a signature request needs no smart host).
      expect(await relay.sign(env, { chunks: [bytes], path: join(dir, 'none'), size: bytes.length }, log)).toBe('');
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('a thread that cannot start fails start() and each request, and never hangs', async () => {
    const broken: SmartHostConfig = { ...noHost, host: '127.0.0.1', caFile: join(dir, 'missing-ca.pem') };
    relay = createRelayThread({ smartHost: broken, hostname: 'relay.test', dkim: null }, log);
    await expect(relay.start()).rejects.toThrow();
    const env = envelope();
    await expect(relay.send(env, env.recipients, { chunks: [bytes], path: join(dir, 'none'), size: bytes.length }, log)).rejects.toThrow(/missing-ca.pem/);
  });
});
