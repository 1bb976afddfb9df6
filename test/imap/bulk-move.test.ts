// Thousands of messages through COMPRESS=DEFLATE with real clients: imapflow (which turns
// compression on by itself after login) moves 2,000 messages INBOX → Archive with UID MOVE
// in batches and reads every body back; mbsync (isync 1.4, which uses COMPRESS=DEFLATE
// whenever the server offers it; it has no setting for it) mirrors the Archive both ways.
// Afterwards what the server holds is compared message by message.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/app.js';
import { requirePeer, runPeer } from '../helpers/peers.js';
import { PASS, startImapServer, USER } from './client.js';

const COUNT = 2000;
const BATCH = 500;

let srv: TestServer;
let work: string;
/** Every message and its sha256, in the order written. */
const bodies: Buffer[] = [];
const hashes: string[] = [];
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function bulkMessage(i: number): Buffer {
  // Some repetition (headers, a signature) and some noise, as real mail has.
  const noise = randomBytes(600 + (i % 7) * 300).toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.from(
    `From: Sender ${i % 40} <s${i % 40}@example.org>\r\nTo: ${USER}\r\nSubject: Bulk message ${i}\r\n` +
      `Date: Mon, 2 Nov 2026 ${String(8 + (i % 10)).padStart(2, '0')}:00:00 +0000\r\nMessage-ID: <bulk-${i}@example.org>\r\n` +
      `MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n` +
      `Message number ${i}.\r\n\r\n${noise}\r\n-- \r\nThe bulk sender\r\n`,
    'latin1',
  );
}

beforeAll(async () => {
  srv = await startImapServer();
  work = await mkdtemp(path.join(tmpdir(), 'bulk-move-'));
  // Written straight into the Maildir, as another program (or a migration) would: the store
  // takes files it did not write (ARCHITECTURE.md) and numbers them at the next listing.
  // 2,000 APPENDs would spend the test's time on fsyncs, not on what is tested here.
  const cur = path.join(srv.mailRoot, 'example.test', 'alice', 'cur');
  const t0 = Math.floor(Date.now() / 1000) - COUNT;
  for (let i = 0; i < COUNT; i++) {
    const body = bulkMessage(i);
    bodies.push(body);
    hashes.push(sha(body));
    await writeFile(path.join(cur, `${t0 + i}.M${i}P1.bulk,S=${body.length}:2,`), body);
  }
});
afterAll(async () => {
  await srv?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('thousands of messages with COMPRESS=DEFLATE', () => {
  it('imapflow moves 2,000 messages INBOX → Archive with UID MOVE in batches of 500; every body arrives intact', async () => {
    const client = new ImapFlow({ host: '127.0.0.1', port: srv.port('imap'), secure: false, tls: { rejectUnauthorized: false }, auth: { user: USER, pass: PASS }, logger: false });
    await client.connect();
    try {
      // imapflow negotiated COMPRESS on its own after login.
      expect(srv.logs.some((l) => l.msg === 'compression on' && l.user === USER)).toBe(true);
      const inbox = await client.mailboxOpen('INBOX');
      expect(inbox.exists).toBe(COUNT);
      const uids = (await client.search({ all: true }, { uid: true })) as number[];
      expect(uids).toHaveLength(COUNT);
      const archive = await client.status('Archive', { uidNext: true, uidValidity: true });
      if (!archive) throw new Error('STATUS Archive failed');
      for (let i = 0; i < uids.length; i += BATCH) {
        const batch = uids.slice(i, i + BATCH);
        const res = await client.messageMove(batch.join(','), 'Archive', { uid: true });
        expect(res).toBeTruthy();
        // UIDPLUS: COPYUID maps every moved UID (RFC 4315 3, RFC 6851 3.3).
        expect((res as { uidMap?: Map<number, number> }).uidMap?.size).toBe(batch.length);
      }
      expect(await client.status('INBOX', { messages: true })).toMatchObject({ messages: 0 });
      await client.mailboxOpen('Archive');
      const got = new Map<string, number>();
      let n = 0;
      for await (const msg of client.fetch('1:*', { uid: true, source: true })) {
        n++;
        const h = sha(msg.source!);
        got.set(h, (got.get(h) ?? 0) + 1);
        expect(msg.uid).toBeGreaterThanOrEqual(archive.uidNext!);
      }
      expect(n).toBe(COUNT);
      expect([...got.keys()].sort()).toEqual([...hashes].sort());
    } finally {
      await client.logout();
    }
  }, 60_000);

  it('mbsync mirrors the Archive of 2,000 messages over COMPRESS, then pushes flags and deletions back', async () => {
    if (!requirePeer('mbsync', 'mbsync bulk sync test')) return;
    const local = path.join(work, 'mail');
    await mkdir(path.join(work, 'state'), { recursive: true });
    await mkdir(local, { recursive: true });
    const conf = path.join(work, 'mbsyncrc');
    // Plain IMAP on loopback (counts as secure in the test server): the compression is ours
    // alone, not TLS's. isync 1.4 sends COMPRESS DEFLATE whenever it is advertised.
    await writeFile(
      conf,
      `IMAPAccount test
Host 127.0.0.1
Port ${srv.port('imap')}
User ${USER}
Pass ${PASS}
SSLType None
AuthMechs PLAIN
PipelineDepth 50

IMAPStore remote
Account test

MaildirStore local
Path ${local}/
Inbox ${local}/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns Archive
Create Both
Expunge Both
SyncState ${work}/state/
`,
    );
    const sync = async (): Promise<void> => {
      const r = await runPeer('mbsync', ['-c', conf, '-a'], { timeoutMs: 60_000 });
      expect(r.status, r.stderr + r.stdout).toBe(0);
    };
    const compressedBefore = srv.logs.filter((l) => l.msg === 'compression on').length;
    await sync();
    expect(srv.logs.filter((l) => l.msg === 'compression on').length).toBeGreaterThan(compressedBefore);
    const dir = path.join(local, 'Archive');
    const names = [...(await readdir(path.join(dir, 'cur'))), ...(await readdir(path.join(dir, 'new')))];
    expect(names).toHaveLength(COUNT);
    // isync stores LF line ends locally and adds its own X-TUID header (its tracking id) to
    // each copy: both sides are compared without them.
    const lf = (b: Buffer) => sha(Buffer.from(b.toString('latin1').replace(/\r\n/g, '\n').replace(/^X-TUID: .*\n/m, ''), 'latin1'));
    const localHashes: string[] = [];
    for (const sub of ['cur', 'new']) for (const f of await readdir(path.join(dir, sub))) localHashes.push(lf(await readFile(path.join(dir, sub, f))));
    expect(localHashes.sort()).toEqual(bodies.map(lf).sort());

    // Local changes pushed back: 100 flagged, 50 deleted.
    for (const f of await readdir(path.join(dir, 'new'))) await rename(path.join(dir, 'new', f), path.join(dir, 'cur', `${f}:2,`));
    const all = (await readdir(path.join(dir, 'cur'))).sort();
    expect(all.length).toBe(COUNT);
    const flagged = all.slice(0, 100);
    const deleted = all.slice(100, 150);
    for (const f of flagged) {
      const [head, flags = ''] = f.split(':2,');
      await rename(path.join(dir, 'cur', f), path.join(dir, 'cur', `${head}:2,${[...new Set([...flags, 'F'])].sort().join('')}`));
    }
    for (const f of deleted) await unlink(path.join(dir, 'cur', f));
    await sync();

    // What the server holds now.
    const client = new ImapFlow({ host: '127.0.0.1', port: srv.port('imap'), secure: false, tls: { rejectUnauthorized: false }, auth: { user: USER, pass: PASS }, logger: false });
    await client.connect();
    try {
      const box = await client.mailboxOpen('Archive');
      expect(box.exists).toBe(COUNT - deleted.length);
      const flaggedUids = (await client.search({ flagged: true }, { uid: true })) as number[];
      expect(flaggedUids).toHaveLength(flagged.length);
    } finally {
      await client.logout();
    }
  }, 90_000);
});
