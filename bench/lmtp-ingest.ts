// bench/lmtp-ingest: N realistic messages (≈10 KB MIME, every tenth with a 100 KB
// attachment, Japanese encodings) over K LMTP connections, printing messages/s and
// p50/p99 latency. `--peer dovecot` runs Dovecot's LMTP from Debian on the same workload
// in the same run and prints the ratio. Our daemon runs as its own process, as in
// production, so the client's CPU use is not charged to it.
//
//   npm run bench:lmtp -- [--messages 2000] [--connections 1,8] [--rounds 3] [--users 8] [--peer dovecot]
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteDirectory } from '../src/directory/sqlite.js';
import { multipartMessage } from '../test/helpers/messages.js';
import { BenchLmtpConnection, dotStuff } from './lmtp-client.js';
import { startDovecot } from '../test/helpers/dovecot.js';
import { freePort } from '../test/helpers/ports.js';
import { startDaemon, type Daemon } from './daemon.js';
import { spreadOver } from './spread.js';
import { flag, medianByRate, percentile } from './stats.js';

const DOMAIN = 'bench.test';
let USERS = 8; // set from --users in main()

interface Args {
  messages: number;
  connections: number[];
  peer: 'dovecot' | null;
  rounds: number;
  /** Distinct recipients; --users 1 puts every message into one growing INBOX. */
  users: number;
}

function parseArgs(argv: string[]): Args {
  const get = (name: string): string | undefined => flag(argv, name);
  return {
    messages: Number(get('--messages') ?? 2000),
    connections: (get('--connections') ?? '1,8').split(',').map(Number),
    peer: get('--peer') === 'dovecot' ? 'dovecot' : null,
    rounds: Number(get('--rounds') ?? 3),
    users: Number(get('--users') ?? 8),
  };
}

function workload(n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) =>
    dotStuff(
      multipartMessage({
        to: `u${i % USERS}@${DOMAIN}`,
        id: `bench-${i}`,
        textBytes: 9000,
        attachmentBytes: i % 10 === 9 ? 100 * 1024 : 0,
      }),
    ),
  );
}

interface Result {
  k: number;
  rate: number;
  p50: number;
  p99: number;
}

async function run(target: { host: string; port: number }, msgs: Buffer[], k: number): Promise<Result> {
  const conns = await Promise.all(Array.from({ length: k }, () => BenchLmtpConnection.open(target)));
  const t0 = performance.now();
  const latencies = await spreadOver(conns, msgs.length, (c, i) => c.send('sender@example.jp', [`u${i % USERS}@${DOMAIN}`], msgs[i]!));
  const elapsed = (performance.now() - t0) / 1000;
  await Promise.all(conns.map((c) => c.close()));
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => percentile(latencies, p);
  return { k, rate: msgs.length / elapsed, p50: pct(0.5), p99: pct(0.99) };
}

async function startOurs(root: string): Promise<Daemon> {
  const dataDir = join(root, 'ours');
  const port = await freePort();
  const directory = await openSqliteDirectory({ path: join(dataDir, 'directory.sqlite') });
  await directory.addDomain(DOMAIN);
  for (let u = 0; u < USERS; u++) await directory.addUser(`u${u}@${DOMAIN}`, `bench-password-${u}`, { quotaMb: 0 });
  await directory.close();
  const cfg = join(root, 'ours.yaml');
  await writeFile(cfg, `dataDir: ${dataDir}\nhostname: bench.local\nlog:\n  level: warn\nlmtp:\n  port: ${port}\n`);
  return startDaemon(cfg, port);
}

function fmt(r: Result): string {
  return `K=${r.k}: ${r.rate.toFixed(0).padStart(5)} msg/s   p50 ${r.p50.toFixed(1).padStart(6)} ms   p99 ${r.p99.toFixed(1).padStart(6)} ms`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  USERS = args.users;
  const root = await mkdtemp(join(tmpdir(), 'bench-lmtp-'));
  const msgs = workload(args.messages);
  const bytes = msgs.reduce((a, m) => a + m.length, 0);
  console.log(
    `workload: ${msgs.length} messages, ${(bytes / msgs.length / 1024).toFixed(1)} KiB average, ${USERS} recipients, ` +
      `${args.rounds} rounds per K${args.peer ? ', alternating with ' + args.peer : ''}`,
  );
  const rows: Array<{ k: number; ours: Result; peer?: Result }> = [];
  const servers: Array<{ stop: () => Promise<void> }> = [];
  try {
    // Both servers run for the whole benchmark and take turns, so that disk state
    // (dirty pages, journal) and machine noise fall on both alike.
    const ours = await startOurs(root);
    servers.push(ours);
    const targets: Array<{ name: string; port: number }> = [{ name: 'ours', port: ours.port }];
    if (args.peer === 'dovecot') {
      // The same Dovecot set-up the interop tests use (Debian's defaults, mail as a shared uid).
      const dc = await startDovecot({ users: Array.from({ length: USERS }, (_, u) => `u${u}@${DOMAIN}`) });
      servers.push(dc);
      targets.push({ name: 'dovecot', port: dc.lmtpPort });
    }
    for (const t of targets) await run({ host: '127.0.0.1', port: t.port }, msgs.slice(0, 100), 2); // warm-up
    let sent = 100;
    for (const k of args.connections) {
      const per = new Map<string, Result[]>(targets.map((t) => [t.name, []]));
      for (let round = 0; round < args.rounds; round++) {
        for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
          const r = await run({ host: '127.0.0.1', port: t.port }, msgs, k);
          if (t.name === 'ours') sent += msgs.length;
          per.get(t.name)!.push(r);
          console.log(`${t.name.padEnd(8)} round ${round + 1}  ${fmt(r)}`);
        }
      }
      const peerRuns = per.get('dovecot');
      rows.push({ k, ours: medianByRate(per.get('ours')!), peer: peerRuns ? medianByRate(peerRuns) : undefined });
    }
    // Every 250 must stand for a file on disk: count what our Maildirs hold.
    let stored = 0;
    for (let u = 0; u < USERS; u++) stored += (await readdir(join(root, 'ours', 'mail', DOMAIN, `u${u}`, 'new'))).length;
    console.log(`integrity: ${sent} messages acknowledged with 250, ${stored} files in new/ ${sent === stored ? '(all there)' : '(MISMATCH)'}`);
    if (sent !== stored) process.exitCode = 1;
  } finally {
    for (const s of servers) await s.stop();
    await rm(root, { recursive: true, force: true });
  }
  console.log('\nsummary (median round of each)');
  for (const row of rows) {
    console.log(`ours     ${fmt(row.ours)}`);
    if (row.peer) {
      console.log(`dovecot  ${fmt(row.peer)}`);
      console.log(`ratio    K=${row.k}: ${(row.ours.rate / row.peer.rate).toFixed(2)} (ours / dovecot, messages per second)`);
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
