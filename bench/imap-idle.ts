// bench/imap-idle: C concurrent authenticated IDLE connections (up to 5,000) spread over U
// users, then N LMTP deliveries one at a time (round robin over the users): prints the
// server's resident memory per connection (RSS growth / C, and total) and how soon every
// IDLE session of the recipient hears `* n EXISTS` (p50/p99/max, from the start of the
// LMTP transaction). Targets (issue 4): 5,000 connections under 300 MB resident, notify
// p99 under 200 ms. `--peer dovecot` runs the same workload against Debian's Dovecot in the
// same run (its memory: the proportional set size of its imap processes, one per session).
//
//   npm run bench:idle -- [--connections 1000] [--users 50] [--messages 200] [--peer dovecot]
import { mkdtemp, readdir, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { openSqliteDirectory } from '../src/directory/sqlite.js';
import { startDovecot, type Dovecot } from '../test/helpers/dovecot.js';
import { japaneseMessage } from '../test/helpers/messages.js';
import { freePort } from '../test/helpers/ports.js';
import { BenchLmtpConnection, dotStuff } from './lmtp-client.js';
import { startDaemon, type Daemon } from './daemon.js';
import { flag, percentile } from './stats.js';

const DOMAIN = 'bench.test';
const PASSWORD = 'secret';
const user = (u: number): string => `idle${u}@${DOMAIN}`;

/** One IDLE connection: reads lines, reports `* n EXISTS` to whoever waits for it. */
class IdleConn {
  private buf = '';
  private waiter: { prefix: string; resolve: (line: string) => void } | null = null;
  onExists: ((n: number) => void) | null = null;
  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\r\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 2);
        if (this.waiter && line.startsWith(this.waiter.prefix)) {
          const w = this.waiter;
          this.waiter = null;
          w.resolve(line);
        } else if (this.onExists && line.endsWith(' EXISTS')) {
          this.onExists(Number(line.split(' ')[1]));
        }
      }
    });
    socket.on('error', () => undefined);
  }
  private wait(prefix: string): Promise<string> {
    return new Promise((resolve) => (this.waiter = { prefix, resolve }));
  }
  static async open(port: number, address: string): Promise<IdleConn> {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const c = new IdleConn(socket);
    const greeting = c.wait('* ');
    await new Promise<void>((r, j) => socket.once('connect', r).once('error', j));
    socket.setNoDelay(true);
    await greeting;
    for (const [tag, cmd] of [['a', `LOGIN ${address} ${PASSWORD}`], ['b', 'SELECT INBOX']] as const) {
      const done = c.wait(`${tag} `);
      socket.write(`${tag} ${cmd}\r\n`);
      const line = await done;
      if (!line.startsWith(`${tag} OK`)) throw new Error(`${cmd.split(' ')[0]}: ${line}`);
    }
    const cont = c.wait('+');
    socket.write('c IDLE\r\n');
    await cont;
    return c;
  }
  close(): void {
    this.socket.destroy();
  }
}

interface Target {
  name: 'ours' | 'dovecot';
  imapPort: number;
  lmtpPort: number;
  /** Resident memory that grows with sessions, in bytes. */
  memory: () => Promise<number>;
}

interface Result {
  baseline: number;
  loaded: number;
  connectSecs: number;
  ack: number[];
  push: number[];
  missed: number;
}

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** Dovecot runs one process per session: sum the proportional set size of the master's children. */
async function dovecotMemory(dc: Dovecot): Promise<number> {
  const master = Number((await readFile(join(dc.dir, 'run', 'master.pid'), 'utf8')).trim());
  let total = 0;
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = await readFile(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== master && Number(p) !== master) continue;
      const rollup = await readFile(`/proc/${p}/smaps_rollup`, 'utf8');
      total += Number(/^Pss:\s+(\d+) kB/m.exec(rollup)![1]) * 1024;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

async function run(t: Target, c: number, users: number, n: number): Promise<Result> {
  const baseline = await t.memory();
  const t0 = performance.now();
  const conns: Array<{ conn: IdleConn; u: number }> = [];
  // Open in waves, as many clients reconnecting after a restart would.
  for (let i = 0; i < c; i += 100) {
    const wave = await Promise.all(
      Array.from({ length: Math.min(100, c - i) }, async (_, j) => {
        const u = (i + j) % users;
        return { conn: await IdleConn.open(t.imapPort, user(u)), u };
      }),
    );
    conns.push(...wave);
  }
  const connectSecs = (performance.now() - t0) / 1000;
  await delay(500); // let allocation settle before reading memory
  const loaded = await t.memory();
  const byUser = new Map<number, IdleConn[]>();
  for (const x of conns) (byUser.get(x.u) ?? byUser.set(x.u, []).get(x.u)!).push(x.conn);
  const lmtp = await BenchLmtpConnection.open({ host: '127.0.0.1', port: t.lmtpPort });
  const body = dotStuff(japaneseMessage({ subject: 'IDLE bench' }));
  const counts = new Map<number, number>();
  const ack: number[] = [];
  const push: number[] = [];
  let missed = 0;
  for (let i = 0; i < n; i++) {
    const u = i % users;
    const want = (counts.get(u) ?? 0) + 1;
    counts.set(u, want);
    const sessions = byUser.get(u) ?? [];
    const start = performance.now();
    const heard = Promise.all(
      sessions.map(
        (s) =>
          new Promise<number | null>((resolve) => {
            const timer = setTimeout(() => resolve(null), 5000);
            s.onExists = (k) => {
              if (k >= want) {
                clearTimeout(timer);
                s.onExists = null;
                resolve(performance.now() - start);
              }
            };
          }),
      ),
    );
    await lmtp.send('sender@example.org', [user(u)], body);
    ack.push(performance.now() - start);
    for (const ms of await heard) {
      if (ms === null) missed++;
      else push.push(ms);
    }
  }
  await lmtp.close();
  for (const x of conns) x.conn.close();
  return { baseline, loaded, connectSecs, ack, push, missed };
}

async function startOurs(root: string, users: number, c: number): Promise<{ daemon: Daemon; target: Target }> {
  const dataDir = join(root, 'ours');
  const directory = await openSqliteDirectory({ path: join(dataDir, 'directory.sqlite') });
  await directory.addDomain(DOMAIN);
  // {PLAIN} as for Dovecot below: the benchmark measures sessions, not the password hash.
  for (let u = 0; u < users; u++) await directory.addUserWithHash(user(u), `{PLAIN}${PASSWORD}`, { quotaMb: 0 });
  await directory.close();
  const [lmtpPort, imapPort] = [await freePort(), await freePort()];
  const cfg = join(root, 'ours.yaml');
  const limit = c + 100;
  await writeFile(
    cfg,
    [
      `dataDir: ${dataDir}`,
      'hostname: bench.local',
      'log: {level: warn}',
      `lmtp: {port: ${lmtpPort}}`,
      // Every connection comes from 127.0.0.1: lift the per-address and listener limits.
      `imap: {starttls: {port: ${imapPort}, maxConnections: ${limit}}, tls: {enabled: false}, maxConnectionsPerIp: ${limit}}`,
      'pop3: {starttls: {enabled: false}, tls: {enabled: false}}',
      'submission: {starttls: {enabled: false}, tls: {enabled: false}}',
      'http: {enabled: false}',
      '',
    ].join('\n'),
  );
  const daemon = await startDaemon(cfg, imapPort);
  return { daemon, target: { name: 'ours', imapPort, lmtpPort, memory: () => rssOf(daemon.pid) } };
}

/** Dovecot's defaults allow 1,024 imap processes, 100 of other services and 10 sessions per user and address: lift them, then reload. */
async function liftDovecotLimits(dc: Dovecot, c: number): Promise<void> {
  const limit = c + 100;
  await appendFile(
    join(dc.dir, 'dovecot.conf'),
    `
default_process_limit = ${limit}
default_client_limit = ${limit * 2}
mail_max_userip_connections = ${limit}
service imap-login {
  service_count = 0
  process_min_avail = 2
}
service imap {
  process_limit = ${limit}
}
`,
  );
  const master = Number((await readFile(join(dc.dir, 'run', 'master.pid'), 'utf8')).trim());
  process.kill(master, 'SIGHUP');
  await delay(1000);
}

const MB = 1024 * 1024;

function report(name: string, c: number, r: Result): string[] {
  const fmt = (xs: number[]): string => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? 'none' : `p50 ${percentile(s, 0.5).toFixed(1)} ms, p99 ${percentile(s, 0.99).toFixed(1)} ms, max ${s[s.length - 1]!.toFixed(1)} ms`;
  };
  return [
    `${name}: ${c} IDLE connections opened in ${r.connectSecs.toFixed(1)} s`,
    `${name}: memory ${(r.baseline / MB).toFixed(1)} MB before, ${(r.loaded / MB).toFixed(1)} MB with the connections; ${((r.loaded - r.baseline) / c / 1024).toFixed(1)} KB per connection`,
    `${name}: LMTP transaction → 250: ${fmt(r.ack)}`,
    `${name}: LMTP transaction → EXISTS in every IDLE session of the recipient: ${fmt(r.push)}${r.missed ? ` (${r.missed} sessions never heard within 5 s)` : ''}`,
  ];
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const c = Number(flag(argv, '--connections') ?? 1000);
  const users = Math.min(c, Number(flag(argv, '--users') ?? 50));
  const n = Number(flag(argv, '--messages') ?? 200);
  const peer = flag(argv, '--peer') === 'dovecot';
  const root = await mkdtemp(join(tmpdir(), 'bench-idle-'));
  let ours: Daemon | null = null;
  let dc: Dovecot | null = null;
  const lines: string[] = [];
  const results = new Map<string, Result>();
  try {
    const o = await startOurs(root, users, c);
    ours = o.daemon;
    const targets: Target[] = [o.target];
    if (peer) {
      dc = await startDovecot({ users: Array.from({ length: users }, (_, u) => user(u)) });
      await liftDovecotLimits(dc, c);
      const d = dc;
      targets.push({ name: 'dovecot', imapPort: d.imapPort, lmtpPort: d.lmtpPort, memory: () => dovecotMemory(d) });
    }
    for (const t of targets) {
      const r = await run(t, c, users, n);
      results.set(t.name, r);
      const rows = report(t.name, c, r);
      if (t.name === 'ours') rows.push(`ours: total resident ${(r.loaded / MB).toFixed(1)} MB (target: 5,000 connections under 300 MB)`);
      for (const row of rows) console.log(row); // as soon as known: the peer's part may take long
      lines.push(...rows);
    }
  } finally {
    await ours?.stop();
    await dc?.stop();
    await rm(root, { recursive: true, force: true });
  }
  console.log(`\n${c} connections over ${users} users, ${n} deliveries`);
  for (const l of lines) console.log(l);
  const a = results.get('ours');
  const b = results.get('dovecot');
  if (a && b) {
    const p99 = (xs: number[]): number => percentile([...xs].sort((x, y) => x - y), 0.99);
    console.log(`ratio memory per connection (ours / dovecot): ${((a.loaded - a.baseline) / (b.loaded - b.baseline)).toFixed(2)}`);
    console.log(`ratio notify p99 (ours / dovecot): ${(p99(a.push) / p99(b.push)).toFixed(2)}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
