// Two-way synchronisation with real sync tools: mbsync (isync) over implicit TLS with the
// daemon's self-signed certificate, and offlineimap3. Each syncs, then changes happen on
// both sides (new, flagged, deleted messages; new and deleted folders), then a second sync
// must carry every change across.
import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/app.js';
import { requirePeer, runPeer } from '../helpers/peers.js';
import { append, Imap, message, PASS, startImapServer, USER } from './client.js';

let srv: TestServer;
let work: string;
beforeAll(async () => {
  srv = await startImapServer();
  work = await mkdtemp(path.join(tmpdir(), 'imap-sync-'));
});
afterAll(async () => {
  await srv?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const sub of ['new', 'cur']) {
    for (const f of await readdir(path.join(dir, sub)).catch(() => [] as string[])) out.push(path.join(dir, sub, f));
  }
  return out.sort();
}

/** Subjects and flags of a mailbox as the server reports them. */
async function serverBox(name: string): Promise<Array<{ subject: string; flags: string }>> {
  const i = await Imap.login(srv);
  const sel = await i.cmd(`EXAMINE ${name}`);
  if (!sel.at(-1)!.includes('OK')) {
    i.close();
    return [];
  }
  const lines = await i.cmd('FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
  i.close();
  const out: Array<{ subject: string; flags: string }> = [];
  for (let k = 0; k < lines.length; k++) {
    const m = /^\* \d+ FETCH \(FLAGS \(([^)]*)\)/.exec(lines[k]!);
    if (m) out.push({ flags: m[1]!.replace(/ ?\\Recent/, '').trim(), subject: (lines[k + 1] ?? '').replace(/^Subject: /, '') });
  }
  return out.sort((a, b) => a.subject.localeCompare(b.subject));
}

async function serverList(): Promise<string[]> {
  const i = await Imap.login(srv);
  const r = await i.cmd('LIST "" *');
  i.close();
  return r.filter((l) => l.startsWith('* LIST')).map((l) => /"([^"]*)"$/.exec(l)![1]!).sort();
}

async function seed(prefix: string): Promise<void> {
  const i = await Imap.login(srv);
  await i.cmd(`CREATE ${prefix}Lists`);
  await i.cmd(`CREATE ${prefix}Doomed`);
  await i.cmd(`CREATE ${prefix}Gone`);
  await append(i, 'INBOX', message(`${prefix}remote one`));
  await append(i, 'INBOX', message(`${prefix}remote two`), '\\Seen');
  await append(i, `${prefix}Lists`, message(`${prefix}list mail`));
  i.close();
}

/** Changes on the server between the two syncs. */
async function remoteChanges(prefix: string): Promise<void> {
  const i = await Imap.login(srv);
  await append(i, 'INBOX', message(`${prefix}remote three`));
  await i.cmd('SELECT INBOX');
  const r = await i.cmd('SEARCH SUBJECT "remote one"');
  const n = r[0]!.split(' ').slice(2);
  for (const seq of n) {
    const subj = await i.cmd(`FETCH ${seq} BODY.PEEK[HEADER.FIELDS (SUBJECT)]`);
    if (subj.join('\n').includes(`${prefix}remote one`)) await i.cmd(`STORE ${seq} +FLAGS (\\Flagged)`);
  }
  await i.cmd('CLOSE');
  // A whole (empty: sync tools never drop a folder holding mail) folder goes away on the server.
  expect((await i.cmd(`DELETE ${prefix}Doomed`)).at(-1)).toMatch(/OK/);
  i.close();
}

describe('mbsync (isync)', () => {
  it('syncs both ways over implicit TLS: new, flagged and deleted messages, new and deleted folders', async () => {
    if (!requirePeer('mbsync', 'mbsync sync test')) return;
    await seed('');
    const dir = path.join(work, 'mbsync');
    const local = path.join(dir, 'mail');
    await mkdir(local, { recursive: true });
    // Sync state outside the Maildir, so a folder deleted locally is seen as deleted, not new.
    await mkdir(path.join(dir, 'state'), { recursive: true });
    const conf = path.join(dir, 'mbsyncrc');
    await writeFile(
      conf,
      `IMAPAccount test
Host 127.0.0.1
Port ${srv.port('imaps')}
User ${USER}
Pass ${PASS}
SSLType IMAPS
CertificateFile ${path.join(srv.dataDir, 'tls', 'selfsigned.crt')}

IMAPStore remote
Account test

MaildirStore local
Path ${local}/
Inbox ${local}/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns *
Create Both
Remove Both
Expunge Both
SyncState ${dir}/state/
`,
    );
    const sync = async () => {
      const r = await runPeer('mbsync', ['-c', conf, '-a'], { timeoutMs: 60_000 });
      expect(r.status, r.stderr + r.stdout).toBe(0);
    };
    await sync();
    expect((await files(path.join(local, 'INBOX'))).length).toBe(2);
    expect((await files(path.join(local, 'Lists'))).length).toBe(1);
    expect(await readdir(local)).toEqual(expect.arrayContaining(['Doomed', 'Gone']));
    await rm(path.join(local, 'Gone'), { recursive: true });

    // Local changes: a new message, one marked seen, one deleted, a new folder.
    const inbox = path.join(local, 'INBOX');
    await writeFile(path.join(inbox, 'new', `${Date.now()}.local1.host`), message('local new').replace(/\r\n/g, '\n'));
    const unseen = (await files(inbox)).find((f) => !/,[A-Z]*S[A-Z]*$/.test(f))!;
    await rename(unseen, unseen.replace(/\/new\//, '/cur/').replace(/(:2,[A-Z]*)?$/, (m) => (m ? m + 'S' : ':2,S')));
    for (const f of await files(path.join(local, 'Lists'))) await rm(f);
    await mkdir(path.join(local, 'LocalFolder', 'cur'), { recursive: true });
    await mkdir(path.join(local, 'LocalFolder', 'new'), { recursive: true });
    await mkdir(path.join(local, 'LocalFolder', 'tmp'), { recursive: true });
    await writeFile(path.join(local, 'LocalFolder', 'new', `${Date.now()}.local2.host`), message('local folder mail').replace(/\r\n/g, '\n'));
    await remoteChanges('');
    await sync();

    const box = await serverBox('INBOX');
    expect(box.map((m) => m.subject)).toEqual(['local new', 'remote one', 'remote three', 'remote two']);
    expect(box.find((m) => m.subject === 'remote one')!.flags.split(' ').sort()).toEqual(['\\Flagged', '\\Seen']);
    expect(await serverBox('Lists')).toEqual([]);
    expect(await serverBox('LocalFolder')).toEqual([{ subject: 'local folder mail', flags: '' }]);
    const localInbox = await files(inbox);
    expect(localInbox.length).toBe(4);
    expect(localInbox.some((f) => /:2,FS$/.test(f))).toBe(true); // the remote \Flagged arrived
    // The folder deleted on one side is gone on the other too.
    expect(await readdir(local)).not.toContain('Doomed');
    expect(await serverList()).not.toContain('Doomed');
    expect(await serverList()).not.toContain('Gone');
  }, 120_000);
});

describe('offlineimap3', () => {
  it('syncs both ways: new, flagged and deleted messages, new folders', async () => {
    if (!requirePeer('offlineimap', 'offlineimap sync test')) return;
    const prefix = 'O';
    await seed(prefix);
    const dir = path.join(work, 'offlineimap');
    const local = path.join(dir, 'mail');
    await mkdir(local, { recursive: true });
    const conf = path.join(dir, 'offlineimaprc');
    await writeFile(
      conf,
      `[general]
accounts = test
metadata = ${dir}/meta
ui = quiet

[Account test]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = ${local}
sep = .

[Repository remote]
type = IMAP
remotehost = 127.0.0.1
remoteport = ${srv.port('imaps')}
remoteuser = ${USER}
remotepass = ${PASS}
ssl = yes
cert_fingerprint = ${new X509Certificate(await readFile(path.join(srv.dataDir, 'tls', 'selfsigned.crt'))).fingerprint256}
tls_level = tls_secure
ssl_version = tls1_2
folderfilter = lambda f: f in ['INBOX', '${prefix}Lists', 'OLocal']
createfolders = True
`,
    );
    const sync = async () => {
      const r = await runPeer('offlineimap', ['-c', conf, '-o', '-u', 'quiet'], { timeoutMs: 90_000 });
      expect(r.status, r.stderr + r.stdout).toBe(0);
    };
    await sync();
    const inbox = path.join(local, 'INBOX');
    const before = await files(inbox);
    expect(before.length).toBeGreaterThanOrEqual(2);
    expect((await files(path.join(local, `${prefix}Lists`))).length).toBe(1);

    await writeFile(path.join(inbox, 'new', `${Date.now()}_0.local3.host`), message(`${prefix}local new`).replace(/\r\n/g, '\n'));
    for (const f of await files(path.join(local, `${prefix}Lists`))) await rm(f);
    for (const sub of ['cur', 'new', 'tmp']) await mkdir(path.join(local, 'OLocal', sub), { recursive: true });
    await writeFile(path.join(local, 'OLocal', 'new', `${Date.now()}_1.local4.host`), message(`${prefix}local folder mail`).replace(/\r\n/g, '\n'));
    await remoteChanges(prefix);
    await sync();

    const box = await serverBox('INBOX');
    expect(box.map((m) => m.subject)).toContain(`${prefix}local new`);
    expect(box.find((m) => m.subject === `${prefix}remote one`)!.flags).toContain('\\Flagged');
    expect(await serverBox(`${prefix}Lists`)).toEqual([]);
    expect(await serverBox('OLocal')).toEqual([{ subject: `${prefix}local folder mail`, flags: '' }]);
    const after = await files(inbox);
    expect(after.length).toBe(before.length + 2); // local new + remote three
    expect(after.some((f) => /:2,[A-Z]*F/.test(f))).toBe(true);
  }, 180_000);
});
