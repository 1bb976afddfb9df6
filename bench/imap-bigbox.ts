// bench/imap-bigbox: one mailbox of N (10,000) messages; times what clients do to a big
// mailbox: LOGIN+SELECT (Roundcube does it every minute), UID FETCH 1:* of the items a
// message list needs (cold: first time after delivery; warm), UID SORT (DATE), UID THREAD
// REFERENCES, UID SEARCH on a header and on TEXT, STORE +FLAGS 1:*, and BODY.PEEK[] of 100
// random messages. Median of --rounds rounds. `--peer dovecot` fills Debian's Dovecot with
// the same messages over LMTP in the same run, runs the same commands against it, and
// prints the ratio. Both servers check passwords in {PLAIN}, so LOGIN times the server, not
// the hash function (our default ARGON2ID hash costs ~100 ms of its own; see README).
//
//   npm run bench:bigbox -- [--messages 10000] [--rounds 3] [--peer dovecot]
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteDirectory } from '../src/directory/sqlite.js';
import { startDovecot, type Dovecot } from '../test/helpers/dovecot.js';
import { freePort } from '../test/helpers/ports.js';
import { bigboxMessage } from './bigbox-mail.js';
import { startDaemon, type Daemon } from './daemon.js';
import { BenchImap } from './imap-client.js';
import { BenchLmtpConnection, dotStuff } from './lmtp-client.js';
import { spreadOver } from './spread.js';
import { flag } from './stats.js';

const USER = 'bigbox@bench.test';
const PASSWORD = 'secret'; // Dovecot's test set-up uses this one
const ITEMS = 'UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE';

interface Target {
  name: 'ours' | 'dovecot';
  imapPort: number;
  lmtpPort: number;
  /** The user's INBOX directory (Maildir root). */
  maildir: string;
  caps: Set<string>;
}

type Figures = Map<string, number[]>;

function record(f: Figures, item: string, ms: number): void {
  (f.get(item) ?? f.set(item, []).get(item)!).push(ms);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const v = await fn();
  return [performance.now() - t0, v];
}

async function populate(t: Target, n: number): Promise<number> {
  const conns = await Promise.all(Array.from({ length: 4 }, () => BenchLmtpConnection.open({ host: '127.0.0.1', port: t.lmtpPort })));
  const t0 = performance.now();
  await spreadOver(conns, n, (c, i) => c.send('sender@example.org', [USER], dotStuff(bigboxMessage(i, USER))));
  const secs = (performance.now() - t0) / 1000;
  await Promise.all(conns.map((c) => c.close()));
  return n / secs;
}

async function session(t: Target): Promise<BenchImap> {
  const c = await BenchImap.connect(t.imapPort);
  await c.command(`LOGIN ${USER} ${PASSWORD}`);
  return c;
}

async function capabilities(t: Target): Promise<Set<string>> {
  const c = await session(t);
  const r = await c.command('CAPABILITY', true);
  c.close();
  const line = r.lines.find((l) => l.startsWith('* CAPABILITY ')) ?? '';
  return new Set(line.slice('* CAPABILITY '.length).toUpperCase().split(' '));
}

async function loginSelect(t: Target): Promise<number> {
  const [ms, c] = await timed(async () => {
    const c = await session(t);
    await c.command('SELECT INBOX');
    return c;
  });
  await c.command('LOGOUT').catch(() => undefined);
  c.close();
  return ms;
}

/** UID FETCH 1:* of the message-list items; checks every message was answered. */
async function fetchAll(c: BenchImap, n: number): Promise<number> {
  const [ms, r] = await timed(() => c.command(`UID FETCH 1:* (${ITEMS})`));
  if (r.count < n) throw new Error(`FETCH answered ${r.count} of ${n} messages`);
  return ms;
}

async function round(t: Target, n: number, f: Figures, uids: number[]): Promise<void> {
  record(f, 'LOGIN+SELECT', await loginSelect(t));
  const c = await session(t);
  await c.command('SELECT INBOX');
  record(f, 'UID FETCH 1:* warm', await fetchAll(c, n));
  if (t.caps.has('SORT')) record(f, 'UID SORT (DATE)', (await timed(() => c.command('UID SORT (DATE) UTF-8 ALL')))[0]);
  if (t.caps.has('THREAD=REFERENCES')) record(f, 'UID THREAD REFERENCES', (await timed(() => c.command('UID THREAD REFERENCES UTF-8 ALL')))[0]);
  const [hms, hr] = await timed(() => c.command('UID SEARCH HEADER Subject "budget review"', true));
  record(f, 'UID SEARCH HEADER', hms);
  const [tms, tr] = await timed(() => c.command('UID SEARCH TEXT "needlework"', true));
  record(f, 'UID SEARCH TEXT', tms);
  const hits = (r: { lines: string[] }): number => (r.lines.find((l) => l.startsWith('* SEARCH'))?.split(' ').length ?? 2) - 2;
  f.set('hits', [hits(hr), hits(tr)]);
  const [sms, sr] = await timed(() => c.command('STORE 1:* +FLAGS (\\Flagged)'));
  if (sr.count < n) throw new Error(`STORE answered ${sr.count} of ${n}`);
  record(f, 'STORE +FLAGS 1:*', sms);
  await c.command('STORE 1:* -FLAGS.SILENT (\\Flagged)'); // back for the next round, untimed
  const pick = [...uids].sort(() => Math.random() - 0.5).slice(0, 100).sort((a, b) => a - b);
  const [bms, br] = await timed(() => c.command(`UID FETCH ${pick.join(',')} BODY.PEEK[]`));
  if (br.count < pick.length) throw new Error(`BODY.PEEK[] answered ${br.count} of ${pick.length}`);
  record(f, 'BODY.PEEK[] x100', bms);
  await c.command('LOGOUT').catch(() => undefined);
  c.close();
}

async function startOurs(root: string): Promise<{ daemon: Daemon; target: Target; cfg: string }> {
  const dataDir = join(root, 'ours');
  const directory = await openSqliteDirectory({ path: join(dataDir, 'directory.sqlite') });
  await directory.addDomain('bench.test');
  await directory.addUserWithHash(USER, `{PLAIN}${PASSWORD}`, { quotaMb: 0 });
  await directory.close();
  const [lmtpPort, imapPort] = [await freePort(), await freePort()];
  const cfg = join(root, 'ours.yaml');
  await writeFile(
    cfg,
    [
      `dataDir: ${dataDir}`,
      'hostname: bench.local',
      'log: {level: warn}',
      `lmtp: {port: ${lmtpPort}}`,
      `imap: {starttls: {port: ${imapPort}}, tls: {enabled: false}}`,
      'pop3: {starttls: {enabled: false}, tls: {enabled: false}}',
      'submission: {starttls: {enabled: false}, tls: {enabled: false}}',
      'http: {enabled: false}',
      '',
    ].join('\n'),
  );
  const daemon = await startDaemon(cfg, imapPort);
  const maildir = join(dataDir, 'mail', 'bench.test', 'bigbox');
  return { daemon, cfg, target: { name: 'ours', imapPort, lmtpPort, maildir, caps: new Set() } };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const n = Number(flag(argv, '--messages') ?? 10_000);
  const rounds = Number(flag(argv, '--rounds') ?? 3);
  const peer = flag(argv, '--peer') === 'dovecot';
  const root = await mkdtemp(join(tmpdir(), 'bench-bigbox-'));
  let ours: Daemon | null = null;
  let dc: Dovecot | null = null;
  const figures = new Map<string, Figures>();
  const notes: string[] = [];
  try {
    const o = await startOurs(root);
    ours = o.daemon;
    const targets: Target[] = [o.target];
    if (peer) {
      dc = await startDovecot({ users: [USER] });
      targets.push({ name: 'dovecot', imapPort: dc.imapPort, lmtpPort: dc.lmtpPort, maildir: join(dc.mailRoot, 'bench.test', 'bigbox'), caps: new Set() });
    }
    for (const t of targets) {
      const f: Figures = new Map();
      figures.set(t.name, f);
      const rate = await populate(t, n);
      console.log(`${t.name.padEnd(8)} delivered ${n} messages over LMTP (4 connections): ${rate.toFixed(0)} msg/s`);
      t.caps = await capabilities(t);
      // Cold: the first LOGIN+SELECT and FETCH after delivery (nothing parsed yet).
      record(f, 'LOGIN+SELECT after delivery', await loginSelect(t));
      const c = await session(t);
      await c.command('SELECT INBOX');
      record(f, 'UID FETCH 1:* cold', await fetchAll(c, n));
      c.close();
    }
    for (const t of targets) {
      for (const item of ['SORT', 'THREAD=REFERENCES']) if (!t.caps.has(item)) notes.push(`${t.name} does not advertise ${item}: its item is skipped`);
    }
    const uids = Array.from({ length: n }, (_, i) => i + 1);
    for (let r = 0; r < rounds; r++) {
      // Alternate the order so machine noise and disk state fall on both alike.
      for (const t of r % 2 === 0 ? targets : [...targets].reverse()) {
        await round(t, n, figures.get(t.name)!, uids);
        console.log(`${t.name.padEnd(8)} round ${r + 1} done`);
      }
    }
    // Ours after a restart: without the cache file (every message parsed again), and with it.
    const f = figures.get('ours')!;
    for (const withFile of [false, true]) {
      await ours.stop();
      ours = null;
      if (!withFile) await unlink(join(o.target.maildir, 'mailserver.cache')).catch(() => notes.push('ours: no mailserver.cache file to delete'));
      ours = await startDaemon(o.cfg, o.target.imapPort);
      const label = withFile ? 'restart, cache file kept' : 'restart, cache file deleted';
      record(f, `LOGIN+SELECT (${label})`, await loginSelect(o.target));
      const c = await session(o.target);
      await c.command('SELECT INBOX');
      record(f, `UID FETCH 1:* (${label})`, await fetchAll(c, n));
      c.close();
    }
    const hits = figures.get('ours')!.get('hits');
    if (hits) notes.push(`search hits (ours): HEADER ${hits[0]}, TEXT ${hits[1]}${peer ? `; dovecot: HEADER ${figures.get('dovecot')!.get('hits')?.[0]}, TEXT ${figures.get('dovecot')!.get('hits')?.[1]}` : ''}`);
  } finally {
    await ours?.stop();
    await dc?.stop();
    await rm(root, { recursive: true, force: true });
  }
  console.log(`\n${n} messages, median of ${rounds} rounds (single figures: one measurement)`);
  const oursF = figures.get('ours')!;
  const dcF = figures.get('dovecot');
  console.log(`${'item'.padEnd(44)} ${'ours ms'.padStart(9)}${dcF ? ' ' + 'dovecot ms'.padStart(11) + '  ratio (ours/dovecot)' : ''}`);
  for (const [item, xs] of oursF) {
    if (item === 'hits') continue;
    const a = median(xs);
    const b = dcF?.get(item);
    const line = `${item.padEnd(44)} ${a.toFixed(1).padStart(9)}`;
    console.log(b ? `${line} ${median(b).toFixed(1).padStart(11)}  ${(a / median(b)).toFixed(2)}` : line);
  }
  for (const n of notes) console.log(`note: ${n}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
