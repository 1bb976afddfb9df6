// Backup of a running server under LMTP load, then restore into an empty server: every
// message, flag, keyword, UID, folder, user, alias and DKIM key comes back. Corrupted
// archives, dry runs, encryption and the malware-scan hook are checked on the same backup.
import { cp, mkdtemp, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createGunzip } from 'node:zlib';
import pino from 'pino';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../../src/backup/backup.js';
import { dkimDir } from '../../src/backup/components.js';
import { readManifest } from '../../src/backup/manifest.js';
import { runRestore } from '../../src/backup/restore.js';
import type { ArchiveScanner } from '../../src/backup/scanner.js';
import { generateDkimKey } from '../../src/relay/dkim-keys.js';
import { startTestServer, type TestServer } from '../helpers/app.js';
import { deliver, imapClient, imapState, type MailboxState } from './helpers.js';

const quiet = pino({ level: 'silent' });
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const PASS_A = 'alice-pass-1';
const PASS_B = 'bob-pass-2';

let src: TestServer;
let backup: string;
let before: Map<string, MailboxState>;
let loadIds: string[] = [];
const servers: TestServer[] = [];
const dirs: string[] = [];

async function emptyServer(): Promise<TestServer> {
  const s = await startTestServer();
  servers.push(s);
  return s;
}

async function mailFiles(root: string): Promise<number> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).length;
}

beforeAll(async () => {
  src = await startTestServer();
  servers.push(src);
  const d = src.app.directory;
  await d.addDomain('example.test');
  await src.addUser(ALICE, PASS_A);
  await src.addUser(BOB, PASS_B, { quotaMb: 77 });
  await d.addAlias('postmaster@example.test', [ALICE]);
  await d.addAlias('team@example.test', [ALICE, BOB]);
  await generateDkimKey(dkimDir(src.app.config), 'example.test', 'ed202611', 'ed25519');

  for (let i = 1; i <= 12; i++) await deliver(src, i % 3 === 0 ? BOB : ALICE, `pre-${i}`);
  // Flags, a keyword and a subfolder set through IMAP, as a user would.
  const c = await imapClient(src, ALICE, PASS_A);
  await c.mailboxCreate('Archive.2024');
  let lock = await c.getMailboxLock('INBOX');
  await c.messageFlagsAdd('1:2', ['\\Seen']);
  await c.messageFlagsAdd('3', ['\\Flagged', '$Important']);
  await c.messageFlagsAdd('4', ['\\Answered', '\\Seen']);
  await c.messageMove('5', 'Archive.2024');
  lock.release();
  lock = await c.getMailboxLock('Archive.2024');
  await c.messageFlagsAdd('1', ['$Archived']);
  lock.release();
  await c.logout();
  // A folder whose special use was given at CREATE (RFC 6154 CREATE-SPECIAL-USE).
  await src.app.store.createMailbox({ domain: 'example.test', localPart: 'alice' }, 'Receipts', { specialUse: '\\Archive' });
  before = await imapState(src, ALICE, PASS_A);

  // LMTP load while the backup runs: a delivery every few milliseconds.
  let stop = false;
  const load = (async () => {
    for (let i = 0; !stop; i++) {
      const id = `load-${i}`;
      await deliver(src, ALICE, id);
      loadIds.push(id);
    }
  })();
  try {
    const r = await runBackup({ config: src.app.config, directory: d, logger: quiet });
    backup = r.dir;
  } finally {
    stop = true;
    await load;
  }
}, 60_000);

afterAll(async () => {
  for (const s of servers) await s.stop();
  for (const x of dirs) await rm(x, { recursive: true, force: true });
});

describe('backup and restore', () => {
  it('writes one archive per component and a manifest with SHA-256 and counts', async () => {
    const m = await readManifest(backup);
    expect(Object.keys(m.components).sort()).toEqual(['config', 'directory', 'dkim', 'mail', 'tls']);
    expect(m.components.directory!.counts).toEqual({ domains: 1, users: 2, aliases: 2 });
    expect(m.components.mail!.counts.messages).toBeGreaterThanOrEqual(12);
    expect(m.components.mail!.counts.users).toBe(2);
    expect(m.components.dkim!.counts.files).toBe(1);
    expect(m.encrypted).toBe(false);
    for (const e of Object.values(m.components)) expect(e!.sha256).toMatch(/^[0-9a-f]{64}$/);
    // Rebuildable indexes stay out: the parsed-message cache, and the modseq journal (a
    // restored journal could move HIGHESTMODSEQ backwards). The live side has both.
    const entries: string[] = [];
    await tar.t({ file: path.join(backup, m.components.mail!.file), onReadEntry: (e) => void entries.push(e.path) });
    expect(entries.some((e) => e.endsWith('/cur/') || e.includes('/cur/'))).toBe(true);
    expect(entries.filter((e) => /mailserver\.(cache|modseq)$/.test(e))).toEqual([]);
    expect(entries.some((e) => e.endsWith('mailserver-special-use'))).toBe(true);
    expect(loadIds.length).toBeGreaterThan(0); // the load really ran during the backup
  });

  it('restores into an empty server: same mail, flags, keywords, folders, UIDs, users, aliases, DKIM key', async () => {
    const dst = await emptyServer();
    const report = await runRestore({ config: dst.app.config, directory: dst.app.directory, logger: quiet, from: backup });
    expect(report.mail.every((p) => p.action === 'create')).toBe(true);
    // Users come back with their old passwords (the hashes are restored).
    const after = await imapState(dst, ALICE, PASS_A);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [mb, want] of before) {
      const got = after.get(mb)!;
      expect(got.uidValidity, mb).toBe(want.uidValidity);
      for (const [id, m] of want.messages) expect(got.messages.get(id), `${mb} ${id}`).toEqual(m);
      // Messages delivered during the backup: those that made it keep their UIDs too.
      const live = (await imapState(src, ALICE, PASS_A)).get(mb)!;
      for (const [id, m] of got.messages) expect(live.messages.get(id), `${mb} ${id}`).toEqual(m);
    }
    const receipts = (await dst.app.store.listMailboxes({ domain: 'example.test', localPart: 'alice' })).find((m) => m.name === 'Receipts');
    expect(receipts?.specialUse).toBe('\\Archive');
    const bob = await imapState(dst, BOB, PASS_B);
    expect(bob.get('INBOX')!.messages.size).toBe(4);
    expect((await dst.app.directory.getUser(BOB))!.quotaMb).toBe(77);
    const aliases = await dst.app.directory.listAliases();
    expect(aliases.map((a) => [a.source, a.destinations.sort()])).toEqual([
      ['postmaster@example.test', [ALICE]],
      ['team@example.test', [ALICE, BOB]],
    ]);
    const key = path.join(dkimDir(dst.app.config), 'example.test');
    const names = await readdir(key);
    expect(names).toEqual(await readdir(path.join(dkimDir(src.app.config), 'example.test')));
    expect((await stat(path.join(key, names[0]!))).mode & 0o077).toBe(0); // still private
    // New mail after the restore continues above the restored UIDs.
    await deliver(dst, ALICE, 'after-restore');
    const inbox = (await imapState(dst, ALICE, PASS_A)).get('INBOX')!;
    const maxOld = Math.max(...[...before.get('INBOX')!.messages.values()].map((m) => m.uid));
    expect(inbox.messages.get('<after-restore@test>')!.uid).toBeGreaterThan(maxOld);
  });

  it('restores over mailboxes a client already opened empty on the new server (new UIDVALIDITY, backed-up UIDs)', async () => {
    const dst = await emptyServer();
    await runRestore({ config: dst.app.config, directory: dst.app.directory, logger: quiet, from: backup, components: ['directory'] });
    await dst.app.store.ensureUser({ domain: 'example.test', localPart: 'alice' });
    const c = await imapClient(dst, ALICE, PASS_A);
    const lock = await c.getMailboxLock('INBOX'); // the server numbers the empty INBOX
    lock.release();
    await c.logout();
    const liveUidlist = await readFile(path.join(dst.mailRoot, 'example.test', 'alice', 'dovecot-uidlist'), 'utf8');
    expect(liveUidlist).toMatch(/^3 V\d+ N1/);
    const report = await runRestore({ config: dst.app.config, directory: dst.app.directory, logger: quiet, from: backup, components: ['mail'] });
    expect(report.mail.find((p) => p.mailbox === 'example.test/alice')!.action).toBe('create');
    const inbox = (await imapState(dst, ALICE, PASS_A)).get('INBOX')!;
    const want = before.get('INBOX')!;
    expect(inbox.uidValidity).toBe(want.uidValidity);
    for (const [id, m] of want.messages) expect(inbox.messages.get(id), id).toEqual(m);
  });

  it('merges into a live mailbox without clobbering newer messages and never reuses a UID', async () => {
    const dst = await emptyServer();
    await runRestore({ config: dst.app.config, directory: dst.app.directory, logger: quiet, from: backup });
    const c = await imapClient(dst, ALICE, PASS_A);
    let lock = await c.getMailboxLock('INBOX');
    await c.messageFlagsAdd('1', ['\\Flagged']);
    await c.messageDelete('2'); // expunged: must come back with a NEW uid
    await c.messageFlagsAdd('3', ['\\Seen']); // newer flags than the backup: must be kept
    lock.release();
    await c.logout();
    const mid = (await imapState(dst, ALICE, PASS_A)).get('INBOX')!;
    const report = await runRestore({ config: dst.app.config, directory: dst.app.directory, logger: quiet, from: backup, components: ['mail'] });
    const inboxPlan = report.mail.find((p) => p.mailbox === 'example.test/alice')!;
    expect(inboxPlan).toMatchObject({ action: 'merge', add: 1 });
    const after = (await imapState(dst, ALICE, PASS_A)).get('INBOX')!;
    for (const [id, m] of mid.messages) expect(after.messages.get(id), id).toEqual(m);
    const restoredId = [...before.get('INBOX')!.messages.entries()].find(([, m]) => m.uid === 2)![0];
    const restored = after.messages.get(restoredId)!;
    expect(restored.uid).toBeGreaterThan(Math.max(...[...mid.messages.values()].map((m) => m.uid)));
    expect(restored.flags).toEqual(['\\Seen']);
  });

  it('detects a corrupted archive by its checksum and restores nothing', async () => {
    const copy = await mkdtemp(path.join(tmpdir(), 'backup-corrupt-'));
    dirs.push(copy);
    await cp(backup, copy, { recursive: true });
    const fh = await open(path.join(copy, 'mail.tar.gz'), 'r+');
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, 100);
    await fh.write(Buffer.from([b[0]! ^ 0xff]), 0, 1, 100);
    await fh.close();
    const dst = await emptyServer();
    await expect(runRestore({ config: dst.app.config, directory: dst.app.directory, logger: quiet, from: copy })).rejects.toThrow(/mail: mail\.tar\.gz: SHA-256 mismatch/);
    expect(await dst.app.directory.listUsers()).toEqual([]); // the directory was not restored either
    expect(await mailFiles(dst.mailRoot)).toBe(0);
  });

  it('--dry-run lists the changes and writes nothing', async () => {
    const dst = await emptyServer();
    const report = await runRestore({ config: dst.app.config, directory: dst.app.directory, logger: quiet, from: backup, dryRun: true });
    expect(report.lines).toContain(`directory: add user ${ALICE}`);
    expect(report.lines.some((l) => l.startsWith('mail example.test/alice/.Archive.2024: create'))).toBe(true);
    expect(report.lines.some((l) => l.startsWith('dkim: write '))).toBe(true);
    expect(await dst.app.directory.listDomains()).toEqual([]);
    expect(await mailFiles(dst.mailRoot)).toBe(0);
    await expect(stat(dkimDir(dst.app.config))).rejects.toThrow(/ENOENT/);
  });

  it('encrypts with a passphrase from the environment; a wrong one fails before anything is written', async () => {
    const env = { MAILSERVER_BACKUP_PASSPHRASE: 'correct horse battery staple' };
    const cfg = { ...src.app.config, backup: { ...src.app.config.backup, encrypt: true } };
    const r = await runBackup({ config: cfg, directory: src.app.directory, logger: quiet, components: ['directory', 'dkim'], env });
    dirs.push(r.dir);
    expect(r.manifest.encrypted).toBe(true);
    const raw = await readFile(path.join(r.dir, 'directory.tar.gz.enc'));
    expect(raw.subarray(0, 8).toString()).toBe('MSBKENC1');
    expect(raw.includes(Buffer.from(ALICE))).toBe(false);
    const dst = await emptyServer();
    await expect(
      runRestore({ config: dst.app.config, directory: dst.app.directory, logger: quiet, from: r.dir, env: { MAILSERVER_BACKUP_PASSPHRASE: 'wrong' } }),
    ).rejects.toThrow(/decryption failed/);
    expect(await dst.app.directory.listUsers()).toEqual([]);
    await runRestore({ config: dst.app.config, directory: dst.app.directory, logger: quiet, from: r.dir, env });
    expect((await dst.app.directory.listUsers()).map((u) => u.address)).toEqual([ALICE, BOB]);
  });

  // The real clamd check belongs to the ClamAV client (filtering issue), which does not
  // exist yet. Until then this drives the scan hook with a scanner that looks for the EICAR
  // test string in the decompressed tar stream, as clamd with ScanArchive does.
  it('refuses to restore when the scanner finds EICAR in an archive (scanner hook; the real clamd: restore-scan.test.ts)', async () => {
    const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
    await deliver(src, BOB, 'eicar', EICAR);
    const r = await runBackup({ config: src.app.config, directory: src.app.directory, logger: quiet, components: ['mail', 'directory'] });
    dirs.push(r.dir);
    const scanned: string[] = [];
    const scanner: ArchiveScanner = {
      name: 'test-scanner',
      async scan(stream, label) {
        scanned.push(label);
        const chunks: Buffer[] = [];
        for await (const c of (stream as NodeJS.ReadableStream).pipe(createGunzip())) chunks.push(c as Buffer);
        return Buffer.concat(chunks).includes(Buffer.from('EICAR-STANDARD-ANTIVIRUS-TEST-FILE')) ? { infected: true, signature: 'Eicar-Signature' } : { infected: false };
      },
    };
    const dst = await emptyServer();
    await expect(runRestore({ config: dst.app.config, directory: dst.app.directory, logger: quiet, from: r.dir, scanner })).rejects.toThrow(
      /test-scanner found Eicar-Signature in mail\.tar\.gz; nothing restored/,
    );
    expect(scanned).toEqual(['mail.tar.gz']);
    expect(await dst.app.directory.listUsers()).toEqual([]);
    // The directory alone is clean and restores.
    await runRestore({ config: dst.app.config, directory: dst.app.directory, logger: quiet, from: r.dir, scanner, components: ['directory'] });
    expect((await dst.app.directory.listUsers()).length).toBe(2);
  });
});

