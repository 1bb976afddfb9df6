// `mailserver dkim generate|show` and `mailserver queue list|show|retry|delete`, run through
// the CLI's entry point against a configuration file and a real queue directory.
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { dnsRecordValue, listDomainKeys } from '../../src/relay/dkim-keys.js';
import { newQueueId, QueueStore } from '../../src/relay/queue-store.js';

let dir: string;
let cfg: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-relay-'));
  cfg = join(dir, 'config.yaml');
  await writeFile(cfg, `dataDir: ${join(dir, 'data')}\nhostname: mx.cli.test\n`);
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const cli = (...args: string[]) => runCli('--config', cfg, ...args);

describe('mailserver dkim', () => {
  it('generate writes a 0600 key and prints its TXT record, SPF and DMARC; show prints it again', async () => {
    const g = await cli('dkim', 'generate', 'Example.ORG', '--selector', 's1');
    expect(g.code, g.err).toBe(0);
    const keyFile = join(dir, 'data', 'dkim', 'example.org', 's1.rsa.key');
    expect(g.out).toContain(`wrote ${keyFile}`);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'data', 'dkim', 'example.org'))).mode & 0o777).toBe(0o700);
    const [key] = await listDomainKeys(join(dir, 'data', 'dkim'), 'example.org');
    const txt = dnsRecordValue(key!);
    expect(txt).toMatch(/^v=DKIM1; k=rsa; p=MII/);
    // Long values are split into 255-byte strings for the zone file.
    expect(g.out.replace(/"\s+"/g, '').replace(/\(\s*|\s*\)/g, '')).toContain(`s1._domainkey.example.org. IN TXT "${txt}"`);
    expect(g.out).toContain('example.org. IN TXT "v=spf1 include:sendgrid.net ~all"');
    expect(g.out).toMatch(/_dmarc\.example\.org\. IN TXT "v=DMARC1; p=none;/);

    const ed = await cli('dkim', 'generate', 'example.org', '--type', 'ed25519', '--selector', 'e1');
    expect(ed.code, ed.err).toBe(0);
    expect(ed.out).toMatch(/e1\._domainkey\.example\.org\. IN TXT "v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}="/);

    const s = await cli('dkim', 'show', 'example.org');
    expect(s.code).toBe(0);
    expect(s.out).toContain('rsa selector s1: signing');
    expect(s.out).toContain('ed25519 selector e1: signing');
  });

  it('refuses a reused selector, a bad type and a domain without keys, with one stderr line', async () => {
    const again = await cli('dkim', 'generate', 'example.org', '--selector', 's1', '--type', 'ed25519');
    expect(again.code).toBe(1);
    expect(again.err).toBe('mailserver: selector s1 already has a key for example.org; pick another --selector\n');
    expect((await cli('dkim', 'generate', 'example.org', '--type', 'dsa')).code).toBe(2);
    expect((await cli('dkim', 'generate', '../etc', '--selector', 'x')).code).toBe(1);
    const none = await cli('dkim', 'show', 'nokeys.test');
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/no DKIM key for nokeys\.test/);
  });
});

describe('mailserver queue', () => {
  it('list, show, retry and delete', async () => {
    const store = new QueueStore(join(dir, 'data', 'queue'));
    await store.init();
    const id = newQueueId();
    const w = await store.create(id);
    await w.write(Buffer.from('From: a@example.org\r\nSubject: queued one\r\n\r\nbody\r\n'));
    await w.commit({ mailFrom: 'a@example.org', user: 'a@example.org', recipients: [{ address: 'x@remote.test' }, { address: 'y@remote.test' }], prefix: '', createdAt: Date.now() });
    await store.append(id, { t: 'rcpt', rcpt: 'x@remote.test', status: 'deferred', at: Date.now(), reply: '451 4.3.0 later', next: Date.now() + 3600_000 });

    const l = await cli('queue', 'list');
    expect(l.code, l.err).toBe(0);
    expect(l.out).toContain(id);
    expect(l.out).toContain('x@remote.test:deferred y@remote.test:queued');

    const s = await cli('queue', 'show', id);
    expect(s.out).toMatch(/rcpt: +x@remote\.test deferred \(1 attempts\) next .* — 451 4\.3\.0 later/);
    expect(s.out).toContain('Subject: queued one');

    expect((await cli('queue', 'retry', id)).out).toBe('marked 1 message(s) for retry\n');
    expect((await store.load(id)).rcpts[0]!.next).toBe(0);

    expect((await cli('queue', 'show', 'nonsense')).code).toBe(1);
    expect((await cli('queue', 'delete', id)).out).toBe('deleted 1 message(s)\n');
    expect((await cli('queue', 'list')).out).toBe('queue is empty\n');
  });
});
