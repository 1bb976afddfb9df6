// The MariaDB directory against Debian's real mariadbd (own datadir and socket, started
// here): the old usermgmt schema with a few rows written the old stack's way, then LMTP,
// IMAP and submission authenticate and deliver against it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/directory/password.js';
import { shaCryptHash } from '../../src/directory/sha-crypt.js';
import { startTestServer, type TestServer } from '../helpers/app.js';
import { requirePeer, runPeer } from '../helpers/peers.js';
import { deliver, imapClient, imapState } from '../backup/helpers.js';

const enabled = requirePeer('mariadbd', 'MariaDB directory') && requirePeer('mariadb-install-db', 'MariaDB directory');
const ROOT = path.resolve(import.meta.dirname, '../..');

let dir: string;
let mysqld: ChildProcess | undefined;
let socket: string;
let srv: TestServer | undefined;

async function waitForSocket(): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const c = await mysql.createConnection({ socketPath: socket, user: 'root' });
      await c.end();
      return;
    } catch (err) {
      if (mysqld?.exitCode !== null && mysqld?.exitCode !== undefined) throw new Error(`mariadbd exited: ${await readFile(path.join(dir, 'error.log'), 'utf8').catch(() => '')}`);
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

beforeAll(async () => {
  if (!enabled) return;
  dir = await mkdtemp(path.join(tmpdir(), 'mariadb-'));
  socket = path.join(dir, 'mysqld.sock');
  const datadir = path.join(dir, 'data');
  const install = await runPeer('mariadb-install-db', ['--no-defaults', `--datadir=${datadir}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db'], { timeoutMs: 120_000 });
  if (install.status !== 0) throw new Error(`mariadb-install-db failed: ${install.stderr}`);
  // Socket only (no TCP port to collide with), small buffers for a test machine.
  mysqld = spawn('mariadbd', ['--no-defaults', `--datadir=${datadir}`, `--socket=${socket}`, '--skip-networking', '--user=root', `--pid-file=${path.join(dir, 'pid')}`, `--log-error=${path.join(dir, 'error.log')}`, '--innodb-buffer-pool-size=16M'], { stdio: 'ignore' });
  await waitForSocket();

  const root = await mysql.createConnection({ socketPath: socket, user: 'root', multipleStatements: true });
  await root.query("CREATE DATABASE usermgmt; CREATE USER 'mailserver'@'localhost' IDENTIFIED BY 'db-secret'; GRANT SELECT, INSERT, UPDATE, DELETE ON usermgmt.* TO 'mailserver'@'localhost';");
  await root.query('USE usermgmt');
  await root.query(await readFile(path.join(ROOT, 'deploy/mariadb/usermgmt-schema.sql'), 'utf8'));
  // Rows as the old usermgmt app wrote them: a bare SHA512-CRYPT hash (Dovecot's
  // default_pass_scheme), a prefixed ARGON2ID one, a disabled user, a comma-separated alias.
  await root.query("INSERT INTO domains (name) VALUES ('old.example'), ('off.example')");
  await root.query('UPDATE domains SET is_active = 0 WHERE name = ?', ['off.example']);
  await root.execute('INSERT INTO users (domain_id, email, password_hash, quota_mb) VALUES (1, ?, ?, 1024)', ['erin@old.example', await shaCryptHash('erin-old-pw', '6')]);
  await root.execute('INSERT INTO users (domain_id, email, password_hash, quota_mb) VALUES (1, ?, ?, 0)', ['frank@old.example', await hashPassword('frank-pw')]);
  await root.execute('INSERT INTO users (domain_id, email, password_hash, quota_mb, is_active) VALUES (1, ?, ?, 0, 0)', ['gone@old.example', await hashPassword('gone-pw')]);
  await root.execute('INSERT INTO aliases (domain_id, source, destination) VALUES (1, ?, ?)', ['team@old.example', 'erin@old.example, frank@old.example']);
  await root.execute('INSERT INTO aliases (domain_id, source, destination, is_active) VALUES (1, ?, ?, 0)', ['old@old.example', 'erin@old.example']);
  await root.end();

  srv = await startTestServer({
    directory: { driver: 'mariadb', mariadb: { host: 'localhost', port: 3306, connectionLimit: 5, socketPath: socket, user: 'mailserver', password: 'db-secret', database: 'usermgmt' } },
  });
  for (const u of ['erin@old.example', 'frank@old.example']) {
    const [local, domain] = u.split('@') as [string, string];
    await srv.app.store.ensureUser({ domain, localPart: local });
  }
}, 180_000);

afterAll(async () => {
  await srv?.stop();
  if (mysqld && mysqld.exitCode === null) {
    const exited = new Promise((r) => mysqld!.once('exit', r));
    mysqld.kill('SIGTERM');
    await exited;
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!enabled)('MariaDB directory (old usermgmt schema)', () => {
  it('LMTP resolves users and comma-separated aliases; inactive rows are refused', async () => {
    await deliver(srv!, 'team@old.example', 'to-team');
    await deliver(srv!, 'erin+news@old.example', 'plus');
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: srv!.lmtpPort, lmtp: true, ignoreTLS: true } as never);
    const r = await t.sendMail({ from: 'x@remote.test', to: ['gone@old.example', 'old@old.example', 'frank@old.example'], subject: 's', text: 't' }).catch((e: { rejected?: string[]; response?: string }) => e);
    expect((r as { rejected: string[] }).rejected.sort()).toEqual(['gone@old.example', 'old@old.example']);
    const erin = (await imapState(srv!, 'erin@old.example', 'erin-old-pw')).get('INBOX')!;
    expect([...erin.messages.keys()].sort()).toEqual(['<plus@test>', '<to-team@test>']);
    const frank = (await imapState(srv!, 'frank@old.example', 'frank-pw')).get('INBOX')!;
    expect(frank.messages.size).toBe(2);
  });

  it('IMAP logs in with the old hashes and refuses wrong or disabled ones', async () => {
    const c = await imapClient(srv!, 'erin@old.example', 'erin-old-pw');
    await c.logout();
    await expect(imapClient(srv!, 'erin@old.example', 'wrong')).rejects.toThrow();
    await expect(imapClient(srv!, 'gone@old.example', 'gone-pw')).rejects.toThrow();
  });

  it('submission authenticates against MariaDB and delivers to a local user', async () => {
    const t = nodemailer.createTransport({
      host: '127.0.0.1',
      port: srv!.port('submission'),
      secure: false,
      requireTLS: true,
      tls: { rejectUnauthorized: false },
      auth: { user: 'frank@old.example', pass: 'frank-pw' },
    });
    const info = await t.sendMail({ from: 'frank@old.example', to: 'erin@old.example', subject: 'via submission', text: 'hi', messageId: '<sub@test>' });
    expect(info.accepted).toEqual(['erin@old.example']);
    const deadline = Date.now() + 15_000;
    for (;;) {
      const inbox = (await imapState(srv!, 'erin@old.example', 'erin-old-pw')).get('INBOX')!;
      if (inbox.messages.has('<sub@test>')) break;
      if (Date.now() > deadline) throw new Error('submitted message never arrived');
      await new Promise((r) => setTimeout(r, 200));
    }
    await expect(
      nodemailer
        .createTransport({ host: '127.0.0.1', port: srv!.port('submission'), secure: false, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: 'frank@old.example', pass: 'nope' } })
        .sendMail({ from: 'frank@old.example', to: 'erin@old.example', text: 'x' }),
    ).rejects.toThrow(/535/);
  });

  it('admin operations write rows the old schema understands', async () => {
    const d = srv!.app.directory;
    await d.addUser('new@old.example', 'new-pw', { quotaMb: 5 });
    await d.addAlias('sales@old.example', ['new@old.example']);
    const c = await mysql.createConnection({ socketPath: socket, user: 'root', database: 'usermgmt' });
    const [rows] = await c.query('SELECT u.email, u.quota_mb, u.is_active, d.name FROM users u JOIN domains d ON d.id = u.domain_id WHERE u.email = ?', ['new@old.example']);
    await c.end();
    expect(rows).toEqual([{ email: 'new@old.example', quota_mb: 5, is_active: 1, name: 'old.example' }]);
    expect((await d.resolveRecipient('sales@old.example')).kind).toBe('deliver');
    expect((await d.listDomains()).map((x) => [x.name, x.active])).toEqual([
      ['off.example', false],
      ['old.example', true],
    ]);
  });
});
