// Real POP3 clients against the running daemon: Python's poplib (POP3_SSL, and POP3 +
// STLS), fetchmail (Debian) delivering through an MDA with and without `keep`, and curl
// (pop3s://). Messages include ISO-2022-JP and Shift_JIS mail, which must arrive byte for
// byte; lines starting with "." check the byte-stuffing.
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.js';
import { japaneseMessage, multipartMessage } from '../helpers/messages.js';
import { requirePeer, runPeer } from '../helpers/peers.js';

const ALICE = 'alice@example.test';
const PW = 'poplib pass';
const user = { domain: 'example.test', localPart: 'alice' };
const POPLIB = fileURLToPath(new URL('./poplib_client.py', import.meta.url));

/** What the store keeps (LF line ends) and so what a client writes to disk. */
const lf = (b: Buffer): Buffer => Buffer.from(b.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');

const MESSAGES = [
  japaneseMessage({ id: 'jp-1' }),
  Buffer.from('From: a@example.org\r\nSubject: dots\r\n\r\n.leading dot\r\n..two\r\n.\r\nlast line\r\n'),
  multipartMessage({ id: 'mp-1', attachmentBytes: 20_000 }),
];

let srv: TestServer;
let work: string;

async function fill(): Promise<number[]> {
  const { messages } = await srv.app.store.listMessages(user, 'INBOX');
  await srv.app.store.expunge(user, 'INBOX', messages.map((m) => m.uid));
  const uids: number[] = [];
  for (const m of MESSAGES) uids.push((await srv.app.store.deliver(user, 'INBOX', { open: () => Readable.from([m]) })).uid);
  return uids;
}

const hasPython = requirePeer('python3', 'POP3 poplib');
const hasFetchmail = requirePeer('fetchmail', 'POP3 fetchmail');
const hasCurl = requirePeer('curl', 'POP3 curl');

beforeAll(async () => {
  srv = await startTestServer();
  await srv.app.directory.addDomain('example.test');
  await srv.addUser(ALICE, PW);
  work = await mkdtemp(join(tmpdir(), 'pop3-clients-'));
});
afterAll(async () => {
  await srv?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});
// Each client starts with no session holding the maildrop lock.
beforeEach(() => waitNoSession());

describe.skipIf(!hasPython)('POP3 with Python poplib', () => {
  it('reads every message intact over POP3_SSL, deletes at QUIT, and logs in after STLS', async () => {
    const uids = await fill();
    const { uidValidity } = await srv.app.store.listMessages(user, 'INBOX');
    const r = await runPeer('python3', [POPLIB, String(srv.port('pop3s')), String(srv.port('pop3')), ALICE, PW]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.welcome).toMatch(/^\+OK /);
    expect(Object.keys(out.capa)).toEqual(expect.arrayContaining(['TOP', 'UIDL', 'USER', 'SASL', 'RESP-CODES', 'PIPELINING']));
    expect(out.capa).not.toHaveProperty('STLS');
    expect(out.stat[0]).toBe(3);
    const hex = (n: number) => n.toString(16).padStart(8, '0');
    expect(out.uidl).toEqual(uids.map((u, i) => `${i + 1} ${hex(u)}${hex(uidValidity)}`));
    const got = (out.messages as string[]).map((b) => Buffer.from(b, 'base64'));
    got.forEach((g, i) => expect(g.equals(lf(MESSAGES[i]!)), `message ${i + 1}`).toBe(true));
    // The sizes LIST gives are the CRLF sizes of what RETR sent.
    expect(out.list).toEqual(MESSAGES.map((m, i) => `${i + 1} ${m.length}`));
    expect(out.stat[1]).toBe(MESSAGES.reduce((n, m) => n + m.length, 0));
    expect(out.top.at(-1)).toBe('');
    expect(out.top).toContain('Content-Type: text/plain; charset=ISO-2022-JP');
    expect(out.retr_out_of_range).toBe('-ERR There is no message 4');
    expect(out.dele).toMatch(/^\+OK/);
    expect(out.quit).toBe('+OK Logging out, 1 deleted');
    expect(out.stls).toMatch(/^\+OK/);
    expect(out.stls_capa).not.toContain('STLS');
    expect(out.stat_after[0]).toBe(2);
    expect(out.uidl_after).toEqual(uids.slice(1).map((u, i) => `${i + 1} ${hex(u)}${hex(uidValidity)}`));
    expect((await srv.app.store.listMessages(user, 'INBOX')).messages.map((m) => m.uid)).toEqual(uids.slice(1));
  });
});

describe.skipIf(!hasFetchmail)('POP3 with fetchmail', () => {
  async function fetch(name: string, keep: boolean, homeName = name): Promise<{ files: Buffer[]; status: number | null; out: string }> {
    const dir = join(work, name);
    const home = join(work, `${homeName}-home`);
    await mkdir(dir, { recursive: true });
    await mkdir(home, { recursive: true });
    const rc = join(home, 'fetchmailrc');
    // fetchmail passes mda to /bin/sh: one file per message ($$ differs per delivery).
    await writeFile(
      rc,
      [
        'set no bouncemail',
        'set no syslog',
        'set invisible',
        `poll 127.0.0.1 service ${srv.port('pop3s')} protocol pop3 auth password timeout 30`,
        `  user "${ALICE}" there with password "${PW}" is root here`,
        `  ssl sslproto 'TLS1.2+' no sslcertck ${keep ? 'keep' : 'no keep fetchall'} no rewrite`,
        `  mda "cat > ${dir}/msg.$$"`,
        '',
      ].join('\n'),
    );
    await chmod(rc, 0o600);
    const r = await runPeer('env', [`FETCHMAILHOME=${home}`, 'fetchmail', '-f', rc, '-i', join(home, 'fetchids'), '-v', '--nodetach'], { timeoutMs: 60_000 });
    const names = (await readdir(dir)).sort();
    const files = await Promise.all(names.map((n) => readFile(join(dir, n))));
    return { files, status: r.status, out: r.stdout + r.stderr };
  }

  /** fetchmail may prepend nothing (`invisible`, `no rewrite`); match messages by content. */
  function sameSet(files: Buffer[]): void {
    const want = MESSAGES.map((m) => lf(m).toString('latin1')).sort();
    const got = files.map((f) => f.toString('latin1')).sort();
    expect(got.length).toBe(want.length);
    got.forEach((g, i) => expect(g === want[i], `message ${i}: ${g.slice(0, 300)}`).toBe(true));
  }

  it('pulls every message intact with keep (nothing deleted) and then without keep (all deleted)', async () => {
    const uids = await fill();
    const kept = await fetch('keep', true);
    expect(kept.status, kept.out).toBe(0);
    sameSet(kept.files);
    expect(kept.out).toMatch(/3 messages/);
    expect((await srv.app.store.listMessages(user, 'INBOX')).messages.map((m) => m.uid)).toEqual(uids);

    // Same id file: fetchmail's UIDL bookkeeping sees nothing new (exit 1 = no mail).
    await waitNoSession();
    const again = await fetch('keep-again', true, 'keep');
    expect(again.status, again.out).toBe(1);
    expect(again.files).toEqual([]);

    await waitNoSession();
    const taken = await fetch('nokeep', false);
    expect(taken.status, taken.out).toBe(0);
    sameSet(taken.files);
    expect((await srv.app.store.listMessages(user, 'INBOX')).messages).toEqual([]);
    expect(srv.logs.some((l) => l.msg === 'update' && l.deleted === 3)).toBe(true);
  });
});

describe.skipIf(!hasCurl)('POP3 with curl', () => {
  it('reads a message over pop3s:// and over pop3:// with STLS required', async () => {
    await waitNoSession();
    await fill();
    const r = await runPeer('curl', ['-sS', '-k', '--user', `${ALICE}:${PW}`, `pop3s://127.0.0.1:${srv.port('pop3s')}/1`]);
    expect(r.status, r.stderr).toBe(0);
    // curl writes the message as it came over the wire, un-stuffed, with CRLF line ends.
    expect(Buffer.from(r.stdout, 'utf8').equals(Buffer.from(MESSAGES[0]!.toString('utf8'), 'utf8'))).toBe(true);
    await waitNoSession();
    const s = await runPeer('curl', ['-sS', '-k', '--ssl-reqd', '--user', `${ALICE}:${PW}`, `pop3://127.0.0.1:${srv.port('pop3')}/2`]);
    expect(s.status, s.stderr).toBe(0);
    expect(s.stdout).toBe(MESSAGES[1]!.toString('latin1'));
    await waitNoSession();
    const list = await runPeer('curl', ['-sS', '-k', '--user', `${ALICE}:${PW}`, `pop3s://127.0.0.1:${srv.port('pop3s')}/`]);
    expect(list.stdout.trim().split(/\r?\n/)).toEqual(MESSAGES.map((m, i) => `${i + 1} ${m.length}`));
  });
});

async function waitNoSession(): Promise<void> {
  for (let i = 0; i < 250; i++) {
    const pop = srv.logs.filter((l) => l.svc === 'pop3' || l.svc === 'pop3s');
    const connects = pop.filter((l) => l.msg === 'connect').length;
    const disconnects = pop.filter((l) => l.msg === 'disconnect').length;
    if (connects === disconnects) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('a POP3 session is still open');
}
