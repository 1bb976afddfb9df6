// Starts a real Dovecot 2.3 (imap + lmtp) in a temporary directory for interop tests,
// plus a minimal IMAP client (over imap-wire.ts) that keeps literals as bytes.
//
// Dovecot refuses mail access as root ("Mail access not allowed for root"), so when the
// tests run as root Dovecot's mail processes use uid/gid 65534 and the test runs our
// store with that effective uid too (asMailUser), which is what production looks like:
// Dovecot and this server sharing one vmail uid.
import { spawn, type ChildProcess } from 'node:child_process';
import { access, chmod, chown, mkdir, mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { startTestServer, type TestServer } from './app.js';
import { ImapWire, type ImapResponse } from './imap-wire.js';
import { freePort } from './ports.js';

export type { ImapResponse };

export const DOVECOT_BIN = '/usr/sbin/dovecot';
const NOBODY = 65534;

export async function dovecotAvailable(): Promise<boolean> {
  try {
    await access(DOVECOT_BIN);
    await access('/usr/lib/dovecot/imap');
    await access('/usr/lib/dovecot/lmtp');
    return true;
  } catch {
    return false;
  }
}

// Re-exported: older callers import freePort from here.
export { freePort };

export interface Dovecot {
  dir: string;
  mailRoot: string;
  imapPort: number;
  lmtpPort: number;
  /** POP3 listener (plaintext, loopback) when started with `pop3: true`; otherwise 0. */
  pop3Port: number;
  user: string;
  password: string;
  /** Runs fn with the uid/gid Dovecot uses for mail (no-op when not root). */
  asMailUser<T>(fn: () => Promise<T>): Promise<T>;
  log(): Promise<string>;
  stop(): Promise<void>;
}

/** `users` all share the password; the first is `user` (the benchmark passes several). */
export async function startDovecot(opts: { separator?: string; users?: string[]; pop3?: boolean } = {}): Promise<Dovecot> {
  const isRoot = process.getuid?.() === 0;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dovecot-'));
  const mailRoot = path.join(dir, 'mail');
  await mkdir(mailRoot);
  if (isRoot) {
    // Login processes (dovenull) must reach base_dir; mail processes (65534) the mail root.
    await chmod(dir, 0o755);
    await chown(mailRoot, NOBODY, NOBODY);
  }
  const [imapPort, lmtpPort] = [await freePort(), await freePort()];
  const pop3Port = opts.pop3 ? await freePort() : 0;
  const me = os.userInfo().username;
  const myGroup = isRoot ? 'root' : await groupName(os.userInfo().gid);
  const users = opts.users ?? ['alice@example.test'];
  const user = users[0]!;
  const password = 'secret';
  await writeFile(path.join(dir, 'passwd'), users.map((u) => `${u}:{PLAIN}${password}:::::\n`).join(''));
  const conf = `
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
info_log_path = ${dir}/dovecot.log
protocols = imap lmtp${opts.pop3 ? ' pop3' : ''}
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:${mailRoot}/%d/%n
first_valid_uid = 1
${isRoot ? `mail_uid = ${NOBODY}\nmail_gid = ${NOBODY}` : `default_login_user = ${me}\ndefault_internal_user = ${me}\ndefault_internal_group = ${myGroup}`}
passdb {
  driver = passwd-file
  args = scheme=PLAIN ${dir}/passwd
}
userdb {
  driver = passwd-file
  args = ${dir}/passwd
}
namespace inbox {
  inbox = yes
  separator = ${opts.separator ?? '/'}
}
# chroot needs root; unprivileged runs would crash-loop anvil and slow every login.
service anvil {
  chroot =
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ${imapPort}
  }
  inet_listener imaps {
    port = 0
  }
}
${
  opts.pop3
    ? `service pop3-login {
  chroot =
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${pop3Port}
  }
  inet_listener pop3s {
    port = 0
  }
}`
    : ''
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${lmtpPort}
  }
  unix_listener lmtp {
    mode = 0600
  }
}
`;
  await writeFile(path.join(dir, 'dovecot.conf'), conf);
  const child: ChildProcess = spawn(DOVECOT_BIN, ['-F', '-c', path.join(dir, 'dovecot.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let dead = false;
  void exited.then(() => (dead = true));

  const log = async () => (await readFile(path.join(dir, 'dovecot.log'), 'utf8').catch(() => '')) + output;
  // Dovecot has no readiness signal; connecting until the greeting arrives is the signal.
  const deadline = Date.now() + 20_000;
  for (;;) {
    let failure: string | null = null;
    if (dead) failure = 'dovecot exited during startup';
    else if (await greets(imapPort)) break;
    else if (Date.now() > deadline) failure = 'dovecot did not start';
    if (failure) {
      const text = await log();
      if (!dead) {
        child.kill('SIGKILL');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
      throw new Error(`${failure}:\n${text}`);
    }
    await delay(50);
  }

  return {
    dir,
    mailRoot,
    imapPort,
    lmtpPort,
    pop3Port,
    user,
    password,
    log,
    async asMailUser<T>(fn: () => Promise<T>): Promise<T> {
      if (!isRoot) return fn();
      process.setegid!(NOBODY);
      process.seteuid!(NOBODY);
      try {
        return await fn();
      } finally {
        process.seteuid!(0);
        process.setegid!(0);
      }
    },
    async stop() {
      if (!dead) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Dovecot wants group names; unprivileged it may only chown sockets to its own group. */
async function groupName(gid: number): Promise<string> {
  const groups = await readFile('/etc/group', 'utf8').catch(() => '');
  for (const line of groups.split('\n')) {
    const [name, , id] = line.split(':');
    if (name && Number(id) === gid) return name;
  }
  return String(gid);
}

function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('data', (d) => {
      s.destroy();
      resolve(d.toString().startsWith('* OK'));
    });
    s.once('error', () => resolve(false));
  });
}

/** Just enough IMAP for tests: tagged commands that must succeed, literals kept as bytes. */
/** Our daemon serving Dovecot's Maildir in place, with Dovecot's user (and a password of our own if given). */
export async function serveDovecotMaildir(dovecot: Dovecot, password = dovecot.password): Promise<TestServer> {
  const srv = await startTestServer({ mailRoot: dovecot.mailRoot });
  await srv.app.directory.addDomain('example.test');
  await srv.app.directory.addUser(dovecot.user, password);
  return srv;
}

export class ImapClient {
  private constructor(private readonly wire: ImapWire) {}

  static async connect(port: number): Promise<ImapClient> {
    const wire = await ImapWire.connect(port);
    if (!wire.greeting.startsWith('* OK')) {
      wire.close();
      throw new Error(`bad greeting ${wire.greeting}`);
    }
    return new ImapClient(wire);
  }

  /** Throws unless the tagged response is OK. */
  async command(cmd: string): Promise<ImapResponse> {
    const res = await this.wire.command(cmd);
    if (!/^\S+ OK/.test(res.tagged)) throw new Error(`${cmd} failed: ${res.tagged}`);
    return res;
  }

  async login(user: string, password: string): Promise<void> {
    await this.command(`LOGIN "${user}" "${password}"`);
  }

  async close(): Promise<void> {
    await this.command('LOGOUT').catch(() => undefined);
    this.wire.close();
  }
}

/** Parses `* n FETCH (UID u FLAGS (...))` lines into uid → flags (\Recent dropped). */
export function parseFetchFlags(untagged: string[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const line of untagged) {
    const uid = /\bUID (\d+)/.exec(line);
    const flags = /\bFLAGS \(([^)]*)\)/.exec(line);
    if (!uid || !flags) continue;
    out.set(Number(uid[1]), flags[1]!.split(' ').filter((f) => f && f !== '\\Recent'));
  }
  return out;
}
