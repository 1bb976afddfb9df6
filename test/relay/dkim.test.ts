// DKIM signatures made by the daemon, checked by two independent verifiers: Python's
// dkimpy (Debian's python3-dkim, public keys served from a stub DNS function) and
// mailauth's verifier. rsa-sha256 and ed25519-sha256 on every message, over plain, 8-bit,
// multipart, long-line and CRLF-edge messages, as the smart host received them.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { requirePeer, runPeer } from '../helpers/peers.js';
import { multipartMessage, japaneseMessage } from '../helpers/messages.js';
import { dnsRecordValue, generateDkimKey } from '../../src/relay/dkim-keys.js';
import { dkimKeyDir } from '../../src/smtp/index.js';
import { startSubmissionEnv, transport, type SubmissionEnv } from '../smtp/setup.js';

let env: SubmissionEnv;
let work: string;
const dns: Record<string, string> = {};

beforeAll(async () => {
  env = await startSubmissionEnv();
  work = await mkdtemp(join(tmpdir(), 'dkim-verify-'));
  const dir = dkimKeyDir(env.srv.app.config);
  const rsa = await generateDkimKey(dir, 'example.test', 'rsa1', 'rsa');
  const ed = await generateDkimKey(dir, 'example.test', 'ed1', 'ed25519');
  dns['rsa1._domainkey.example.test'] = dnsRecordValue(rsa);
  dns['ed1._domainkey.example.test'] = dnsRecordValue(ed);
});
afterAll(async () => {
  await env?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const head = (subject: string, extra: string[] = []) =>
  ['From: Alice <alice@example.test>', 'To: Friend <friend@remote.test>', `Subject: ${subject}`, ...extra, ''].join('\r\n') + '\r\n';

const asAlice = (b: Buffer) => Buffer.from(b.toString('latin1').replace(/^From: .*$/m, 'From: Alice <alice@example.test>'), 'latin1');

const cases: Array<[string, Buffer]> = [
  ['plain', Buffer.from(head('plain text') + 'Hello.\r\nSecond line.\r\n')],
  [
    '8-bit UTF-8 body',
    Buffer.from(head('8bit', ['MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit']) + 'Grüße aus Köln — ½ €\r\n日本語のテキスト\r\n', 'utf8'),
  ],
  ['multipart with Shift_JIS and an attachment', asAlice(multipartMessage({ to: 'friend@remote.test', attachmentBytes: 20_000 }))],
  ['ISO-2022-JP', asAlice(japaneseMessage({ to: 'friend@remote.test' }))],
  ['long lines', Buffer.from(head('long') + 'x'.repeat(990) + '\r\n' + 'word '.repeat(190) + '\r\n')],
  [
    'CRLF edges: trailing blank lines, trailing spaces, tabs, folded header, dot lines',
    Buffer.from(
      head('edges  with   spaces', ['X-Folded: first part', '\t  continued   here ']) +
        'line with trailing spaces   \r\n\t tabbed\t\r\n.\r\n..two dots\r\n \r\n\r\n\r\n',
    ),
  ],
  ['empty body', Buffer.from(head('empty'))],
  ['bare LF in the submission', Buffer.from('From: alice@example.test\nTo: friend@remote.test\nSubject: bare\n\nline\n\n')],
];

async function dkimpy(file: string): Promise<string> {
  const script = `
import dkim, json, sys
recs = json.loads(sys.argv[2])
msg = open(sys.argv[1], 'rb').read()
def dnsfunc(name, timeout=5):
    return recs.get(name.decode().rstrip('.'), '').encode()
d = dkim.DKIM(msg)
n = len([l for l in msg.split(b'\\r\\n\\r\\n')[0].split(b'\\r\\n') if l.lower().startswith(b'dkim-signature:')])
print(' '.join(str(d.verify(idx=i, dnsfunc=dnsfunc)) for i in range(n)))
`;
  const r = await runPeer('/usr/bin/python3', ['-c', script, file, JSON.stringify(dns)]);
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
}

describe('DKIM signing', () => {
  it.each(cases)('%s: rsa-sha256 and ed25519-sha256 verify with dkimpy and mailauth', async (name, raw) => {
    const before = env.relay.received.length;
    const eightBit = name.startsWith('8-bit');
    await transport(env).sendMail({ envelope: { from: 'alice@example.test', to: ['friend@remote.test'], ...(eightBit ? { use8BitMime: true } : {}) }, raw } as never);
    const got = (await env.relay.waitFor(before + 1))[before]!;
    const signed = got.data;
    const text = signed.toString('latin1');
    expect(text).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=example\.test;/);
    expect(text).toMatch(/\r\nDKIM-Signature: v=1; a=ed25519-sha256; c=relaxed\/relaxed; d=example\.test;/);
    // From and Subject oversigned: named once more in h= than they occur.
    const h = /h=([^;]+);/.exec(text.replace(/\r\n[ \t]+/g, ' '))![1]!.toLowerCase().split(':').map((s) => s.trim());
    expect(h.filter((x) => x === 'from')).toHaveLength(2);
    expect(h.filter((x) => x === 'subject')).toHaveLength(2);

    if (eightBit) expect(got.params.mail).toMatchObject({ BODY: '8BITMIME' });
    const res = await dkimVerify(signed, { resolver: async (n: string) => [[dns[n] ?? '']] });
    expect(res.results.map((r: { status: { result: string } }) => r.status.result), name).toEqual(['pass', 'pass']);

    if (!requirePeer('/usr/bin/python3', 'dkimpy verification')) return;
    const file = join(work, `${before}.eml`);
    await writeFile(file, signed);
    expect(await dkimpy(file)).toBe('True True');
  });

  it('a queued message read back from disk (as after a restart) is signed by the worker from its stored bytes', async () => {
    // Intake signs alongside the fsync and keeps the signature in memory only; the trailer
    // names the domain. Here the entry is committed unsigned and its memory copy dropped, as
    // a restarted daemon finds it.
    const before = env.relay.received.length;
    const store = env.queue.store;
    const { newQueueId } = await import('../../src/relay/queue-store.js');
    const id = newQueueId();
    const w = await store.create(id);
    await w.write(cases[2]![1]);
    const queued = await w.commit({
      mailFrom: 'alice@example.test',
      user: 'alice@example.test',
      recipients: [{ address: 'friend@remote.test' }],
      prefix: 'Received: from test by test; Mon, 23 Nov 2026 00:00:00 +0000\r\n',
      dkim: 'example.test',
      createdAt: Date.now(),
    });
    store.dropBody(id);
    const onDisk = await store.readEnvelope(id);
    expect(onDisk.dkim).toBe('example.test');
    expect(onDisk.prefix).not.toMatch(/DKIM-Signature/);
    env.queue.worker.enqueued(queued);
    const got = (await env.relay.waitFor(before + 1))[before]!;
    expect(got.data.toString('latin1')).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256;[\s\S]*\r\nDKIM-Signature: v=1; a=ed25519-sha256;[\s\S]*\r\nReceived: from test by test;/);
    const res = await dkimVerify(got.data, { resolver: async (n: string) => [[dns[n] ?? '']] });
    expect(res.results.map((r: { status: { result: string } }) => r.status.result)).toEqual(['pass', 'pass']);
    if (!requirePeer('/usr/bin/python3', 'dkimpy verification')) return;
    const file = join(work, 'resigned.eml');
    await writeFile(file, got.data);
    expect(await dkimpy(file)).toBe('True True');
  });

  it('a header added on the way (a second From:) breaks the signature', async () => {
    const before = env.relay.received.length;
    await transport(env).sendMail({ envelope: { from: 'alice@example.test', to: ['friend@remote.test'] }, raw: cases[0]![1] });
    const got = (await env.relay.waitFor(before + 1))[before]!;
    const text = got.data.toString('latin1');
    const end = text.indexOf('\r\n\r\n');
    const tampered = Buffer.from(text.slice(0, end) + '\r\nFrom: evil@bank.test' + text.slice(end), 'latin1');
    const res = await dkimVerify(tampered, { resolver: async (n: string) => [[dns[n] ?? '']] });
    expect(res.results.map((r: { status: { result: string } }) => r.status.result)).toEqual(['fail', 'fail']);
  });

  it('mail from a domain without keys goes out unsigned', async () => {
    await env.srv.app.directory.addDomain('nokeys.test');
    await env.srv.addUser('dave@nokeys.test', 'pw-dave-1');
    const before = env.relay.received.length;
    await transport(env, { user: 'dave@nokeys.test', pass: 'pw-dave-1' }).sendMail({
      envelope: { from: 'dave@nokeys.test', to: ['friend@remote.test'] },
      raw: 'From: dave@nokeys.test\r\nTo: friend@remote.test\r\nSubject: unsigned\r\n\r\nhi\r\n',
    });
    const got = (await env.relay.waitFor(before + 1))[before]!;
    expect(got.data.toString()).not.toMatch(/DKIM-Signature/i);
  });
});
