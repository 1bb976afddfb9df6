// Taking over a real Dovecot (Debian's package): users and mail written through Dovecot
// (read, flagged, keyworded, in subfolders), then `mailserver import dovecot` on its
// dovecot.conf, then our daemon started from the written config serves the same Maildir:
// same folders, UIDVALIDITY, UIDs, flags, keywords and POP3 UIDLs, and the old passwords.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import pino from 'pino';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { dovecotAvailable, startDovecot, type Dovecot } from '../helpers/dovecot.js';
import { LineClient } from '../helpers/line-client.js';
import { requirePeer } from '../helpers/peers.js';
import nodemailer from 'nodemailer';

const enabled = requirePeer('dovecot', 'Dovecot import') && (await dovecotAvailable());
const USERS = ['alice@example.test', 'bob@other.test'];

let dv: Dovecot;
let work: string;
let app: App | undefined;
let dovecotView: Map<string, Snapshot>;
let dovecotUidl: string[];

interface Snapshot {
  uidValidity: string;
  messages: Array<{ uid: number; flags: string[]; id: string }>;
}

async function snapshot(c: ImapFlow): Promise<Map<string, Snapshot>> {
  const out = new Map<string, Snapshot>();
  for (const mb of await c.list()) {
    // 'Work' exists only as the parent of Work/Projects (Maildir++ has no directory for it).
    if (mb.flags.has('\\Noselect') || mb.flags.has('\\NonExistent')) continue;
    const lock = await c.getMailboxLock(mb.path);
    try {
      const m = c.mailbox as { uidValidity: bigint; exists: number };
      const messages: Snapshot['messages'] = [];
      if (m.exists > 0) {
        for await (const x of c.fetch('1:*', { uid: true, flags: true, envelope: true })) {
          messages.push({ uid: x.uid, id: x.envelope?.messageId ?? '', flags: [...(x.flags ?? [])].filter((f) => f !== '\\Recent').sort() });
        }
      }
      out.set(mb.path, { uidValidity: String(m.uidValidity), messages: messages.sort((a, b) => a.uid - b.uid) });
    } finally {
      lock.release();
    }
  }
  return out;
}

async function pop3Uidl(port: number, user: string, pass: string): Promise<string[]> {
  const c = await LineClient.connect(port);
  await c.line();
  await c.command(`USER ${user}`);
  expect(await c.command(`PASS ${pass}`)).toMatch(/^\+OK/);
  c.send('UIDL');
  const lines: string[] = [];
  expect(await c.line()).toMatch(/^\+OK/);
  for (let l = await c.line(); l !== null && l !== '.'; l = await c.line()) lines.push(l);
  await c.command('QUIT');
  return lines.filter((l) => /^\d+ /.test(l));
}

const cli = runCli;

beforeAll(async () => {
  if (!enabled) return;
  dv = await startDovecot({ pop3: true, users: USERS });
  work = await mkdtemp(path.join(tmpdir(), 'import-'));
  const lmtp = nodemailer.createTransport({ host: '127.0.0.1', port: dv.lmtpPort, lmtp: true, ignoreTLS: true } as never);
  for (let i = 1; i <= 6; i++) await lmtp.sendMail({ from: 'x@remote.test', to: USERS[0], subject: `m${i}`, text: `body ${i}`, messageId: `<a${i}@test>` });
  for (let i = 1; i <= 2; i++) await lmtp.sendMail({ from: 'x@remote.test', to: USERS[1], subject: `b${i}`, text: `body ${i}`, messageId: `<b${i}@test>` });

  const c = new ImapFlow({ host: '127.0.0.1', port: dv.imapPort, secure: false, doSTARTTLS: false, auth: { user: USERS[0]!, pass: dv.password }, logger: false });
  await c.connect();
  await c.mailboxCreate('Work/Projects');
  await c.mailboxSubscribe('Work/Projects');
  let lock = await c.getMailboxLock('INBOX');
  await c.messageFlagsAdd('1:2', ['\\Seen']);
  await c.messageFlagsAdd('3', ['\\Flagged', 'Urgent', '$Label1']);
  await c.messageFlagsAdd('4', ['\\Answered', '\\Seen']);
  await c.messageMove('5:6', 'Work/Projects');
  lock.release();
  lock = await c.getMailboxLock('Work/Projects');
  await c.messageFlagsAdd('1', ['Urgent']);
  lock.release();
  dovecotView = await snapshot(c);
  await c.logout();
  dovecotUidl = await pop3Uidl(dv.pop3Port, USERS[0]!, dv.password);
  expect(dovecotUidl).toHaveLength(4);
}, 60_000);

afterAll(async () => {
  await app?.stop();
  if (enabled) {
    await dv.stop();
    await rm(work, { recursive: true, force: true });
  }
});

describe.skipIf(!enabled)('import dovecot', () => {
  it('writes a config that serves the Dovecot Maildir in place, with the same users and passwords', async () => {
    const cfgFile = path.join(work, 'mailserver.yaml');
    await writeFile(cfgFile, `# our config\ndataDir: ${path.join(work, 'data')}\n`);
    // The spelling: `--config` after `import dovecot` names Dovecot's file.
    const dry = await cli('--config', cfgFile, 'import', 'dovecot', '--config', path.join(dv.dir, 'dovecot.conf'), '--write-config', cfgFile, '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.out).toContain('would add user alice@example.test');
    expect(await readFile(cfgFile, 'utf8')).not.toContain('mailRoot'); // dry run

    const r = await cli('--config', cfgFile, 'import', 'dovecot', path.join(dv.dir, 'dovecot.conf'), '--write-config', cfgFile);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`mail root: ${dv.mailRoot}`);
    expect(r.out).toMatch(/add domain example\.test\nadd domain other\.test\nadd user alice@example\.test\nadd user bob@other\.test/);
    const written = await readFile(cfgFile, 'utf8');
    expect(written).toContain('# our config'); // merged, not overwritten
    expect(YAML.parse(written)).toMatchObject({ mailRoot: dv.mailRoot, imap: { hierarchyDelimiter: '/' } });

    // The daemon, started from that config (listeners moved to free ports for the test).
    const env: NodeJS.ProcessEnv = {};
    for (const k of ['LMTP', 'IMAP__STARTTLS', 'IMAP__TLS', 'POP3__STARTTLS', 'POP3__TLS', 'SUBMISSION__STARTTLS', 'SUBMISSION__TLS', 'HTTP']) env[`MAILSERVER__${k}__PORT`] = '0';
    const config = await loadConfig({ path: cfgFile, env });
    app = await startApp(config, pino({ level: 'silent' }));

    const c = new ImapFlow({ host: '127.0.0.1', port: app.port('imap'), secure: false, doSTARTTLS: true, tls: { rejectUnauthorized: false }, auth: { user: USERS[0]!, pass: dv.password }, logger: false });
    await c.connect();
    const ours = await snapshot(c);
    const subscribed = (await c.list()).filter((m) => m.subscribed).map((m) => m.path);
    await c.logout();
    expect([...ours.keys()].sort()).toEqual([...dovecotView.keys()].sort());
    for (const [mb, want] of dovecotView) expect(ours.get(mb), mb).toEqual(want);
    expect(subscribed).toContain('Work/Projects');
    expect(await pop3Uidl(app.port('pop3'), USERS[0]!, dv.password)).toEqual(dovecotUidl);

    // bob's old password works too; a wrong one does not.
    const b = new ImapFlow({ host: '127.0.0.1', port: app.port('imap'), secure: false, doSTARTTLS: true, tls: { rejectUnauthorized: false }, auth: { user: USERS[1]!, pass: dv.password }, logger: false });
    await b.connect();
    await b.logout();
    const bad = new ImapFlow({ host: '127.0.0.1', port: app.port('imap'), secure: false, doSTARTTLS: true, tls: { rejectUnauthorized: false }, auth: { user: USERS[1]!, pass: 'nope' }, logger: false });
    await expect(bad.connect()).rejects.toThrow();
  });

  it('refuses a mail_location it cannot serve in place', async () => {
    const r = await cli('--config', path.join(work, 'mailserver.yaml'), 'import', 'dovecot', '--mail-location', 'maildir:~/Maildir', '--passwd-file', '/dev/null');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^mailserver: mail_location "maildir:~\/Maildir": expected maildir:<root>\/%d\/%n/);
  });
});
