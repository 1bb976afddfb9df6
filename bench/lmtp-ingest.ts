// bench/lmtp-ingest: N realistic messages (≈10 KB MIME, every tenth with a 100 KB
// attachment, Japanese encodings) over K LMTP connections, printing messages/s and
// p50/p99 latency. `--peer dovecot` runs Dovecot's LMTP from Debian on the same workload
// in the same run and prints the ratio. Our daemon runs as its own process, as in
// production, so the client's CPU use is not charged to it.
//
// `--scan` starts Debian's clamd and Rspamd (test/helpers/clamd.ts, rspamd.ts) and runs a second daemon with scanning on, taking turns
// with the unscanned one; it prints both rates and the scanners' own latency (each workload
// message sent to clamd directly with our client, one at a time), so the pipeline's own
// overhead for scanning is the difference between the per-message cost and that latency.
//
//   npm run bench:lmtp -- [--messages 2000] [--connections 1,8] [--rounds 3] [--users 8] [--peer dovecot]
//                          [--scan [--scanners clamav,rspamd]]
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
import { startClamd, type Clamd } from '../test/helpers/clamd.js';
import { instream, type ClamdTarget } from '../src/scan/clamd.js';
import { REDIS_BIN, RSPAMD_BIN, startRspamd, type Rspamd } from '../test/helpers/rspamd.js';
import { havePeer } from '../test/helpers/peers.js';

const DOMAIN = 'bench.test';
let USERS = 8; // set from --users in main()

interface Args {
  messages: number;
  connections: number[];
  peer: 'dovecot' | null;
  rounds: number;
  /** Distinct recipients; --users 1 puts every message into one growing INBOX. */
  users: number;
  /** Also run a daemon with scanning on: ClamAV and/or Rspamd (when installed). */
  scan: boolean;
  scanners: string[];
}

function parseArgs(argv: string[]): Args {
  const get = (name: string): string | undefined => flag(argv, name);
  return {
    messages: Number(get('--messages') ?? 2000),
    connections: (get('--connections') ?? '1,8').split(',').map(Number),
    peer: get('--peer') === 'dovecot' ? 'dovecot' : null,
    rounds: Number(get('--rounds') ?? 3),
    users: Number(get('--users') ?? 8),
    scan: argv.includes('--scan'),
    scanners: (get('--scanners') ?? 'clamav,rspamd').split(','),
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

async function startOurs(root: string, name = 'ours', extraYaml = ''): Promise<Daemon> {
  const dataDir = join(root, name);
  const port = await freePort();
  const directory = await openSqliteDirectory({ path: join(dataDir, 'directory.sqlite') });
  await directory.addDomain(DOMAIN);
  for (let u = 0; u < USERS; u++) await directory.addUser(`u${u}@${DOMAIN}`, `bench-password-${u}`, { quotaMb: 0 });
  await directory.close();
  const cfg = join(root, `${name}.yaml`);
  // Every other listener on port 0: two daemons (and other benchmarks) run side by side.
  const others = ['imap', 'pop3', 'submission'].map((s) => `${s}:\n  starttls:\n    port: 0\n  tls:\n    port: 0\n`).join('') + 'http:\n  port: 0\n';
  await writeFile(cfg, `dataDir: ${dataDir}\nhostname: bench.local\nlog:\n  level: warn\nlmtp:\n  port: ${port}\n${others}${extraYaml}`);
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
  const rows: Array<{ k: number; ours: Result; peer?: Result; scanned?: Result }> = [];
  const servers: Array<{ stop: () => Promise<void> }> = [];
  let clamd: Clamd | null = null;
  const scannerLatency: string[] = [];
  const sentTo = new Map<string, number>();
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
    if (args.scan) {
      let yaml = 'scan:\n';
      if (args.scanners.includes('clamav')) {
        clamd = await startClamd({ streamMaxLength: '25M' });
        yaml += `  clamav:\n    host: 127.0.0.1\n    port: ${clamd.port}\n`;
        scannerLatency.push(await clamdLatency({ host: '127.0.0.1', port: clamd.port, timeoutMs: 30_000, chunkBytes: 64 * 1024, maxStreamBytes: 25 * 1024 * 1024 }, msgs));
      }
      const rspamd = args.scanners.includes('rspamd') ? await startRspamdIfThere() : null;
      if (rspamd) {
        servers.push(rspamd);
        yaml += `  rspamd:\n    url: ${rspamd.url}\n`;
        scannerLatency.push(await rspamdLatency(rspamd.url, msgs));
      }
      const scanned = await startOurs(root, 'scan', yaml);
      servers.push(scanned);
      targets.push({ name: 'scan', port: scanned.port });
    }
    for (const t of targets) await run({ host: '127.0.0.1', port: t.port }, msgs.slice(0, 100), 2); // warm-up
    for (const k of args.connections) {
      const per = new Map<string, Result[]>(targets.map((t) => [t.name, []]));
      for (let round = 0; round < args.rounds; round++) {
        for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
          const r = await run({ host: '127.0.0.1', port: t.port }, msgs, k);
          sentTo.set(t.name, (sentTo.get(t.name) ?? 0) + msgs.length);
          per.get(t.name)!.push(r);
          console.log(`${t.name.padEnd(8)} round ${round + 1}  ${fmt(r)}`);
        }
      }
      const peerRuns = per.get('dovecot');
      const scanRuns = per.get('scan');
      rows.push({ k, ours: medianByRate(per.get('ours')!), peer: peerRuns ? medianByRate(peerRuns) : undefined, scanned: scanRuns ? medianByRate(scanRuns) : undefined });
    }
    // Every 250 must stand for a file on disk: count what our Maildirs hold.
    for (const name of args.scan ? ['ours', 'scan'] : ['ours']) {
      const acked = (sentTo.get(name) ?? 0) + 100; // + the warm-up
      let stored = 0;
      for (let u = 0; u < USERS; u++) stored += (await readdir(join(root, name, 'mail', DOMAIN, `u${u}`, 'new'))).length;
      console.log(`integrity (${name}): ${acked} messages acknowledged with 250, ${stored} files in new/ ${acked === stored ? '(all there)' : '(MISMATCH)'}`);
      if (acked !== stored) process.exitCode = 1;
    }
  } finally {
    for (const s of servers) await s.stop();
    await clamd?.close();
    await rm(root, { recursive: true, force: true });
  }
  console.log('\nsummary (median round of each)');
  for (const row of rows) {
    console.log(`ours     ${fmt(row.ours)}`);
    if (row.peer) {
      console.log(`dovecot  ${fmt(row.peer)}`);
      console.log(`ratio    K=${row.k}: ${(row.ours.rate / row.peer.rate).toFixed(2)} (ours / dovecot, messages per second)`);
    }
    if (row.scanned) {
      console.log(`scan     ${fmt(row.scanned)}`);
      const perMsg = (1000 / row.scanned.rate - 1000 / row.ours.rate) * row.k;
      console.log(`scanning K=${row.k}: ${(row.scanned.rate / row.ours.rate).toFixed(2)} of the unscanned rate; +${perMsg.toFixed(2)} ms per message per connection`);
    }
  }
  for (const line of scannerLatency) console.log(line);
}

const latencyLine = (name: string, n: number, times: number[]): string => {
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  return `${name.padEnd(8)} per scan call (${n} workload messages, one at a time): p50 ${percentile(times, 0.5).toFixed(2)} ms   p99 ${percentile(times, 0.99).toFixed(2)} ms   mean ${mean.toFixed(2)} ms`;
};

/** Rspamd's own time per message: POST /checkv2 straight from here, one at a time. */
async function rspamdLatency(url: string, msgs: Buffer[]): Promise<string> {
  const sample = msgs.slice(0, Math.min(msgs.length, 300));
  const times: number[] = [];
  for (const [i, m] of sample.entries()) {
    const t0 = performance.now();
    const res = await fetch(`${url}/checkv2`, { method: 'POST', headers: { IP: '127.0.0.1', From: 'sender@example.jp', Rcpt: `u${i % USERS}@${DOMAIN}` }, body: new Uint8Array(m) });
    await res.arrayBuffer();
    times.push(performance.now() - t0);
  }
  return latencyLine('rspamd', sample.length, times);
}

/** clamd's own time per message (one INSTREAM at a time, our client), the floor for the scanned rate. */
async function clamdLatency(target: ClamdTarget, msgs: Buffer[]): Promise<string> {
  const sample = msgs.slice(0, Math.min(msgs.length, 500));
  const times: number[] = [];
  for (const m of sample) {
    const t0 = performance.now();
    const v = await instream(target, async function* () {
      yield m;
    }, m.length);
    times.push(performance.now() - t0);
    if (v.infected) throw new Error('the workload is clean; clamd says otherwise');
  }
  return latencyLine('clamd', sample.length, times);
}

/** The tests' Rspamd (with its Redis), when the binaries are installed; ClamAV alone otherwise. */
async function startRspamdIfThere(): Promise<Rspamd | null> {
  if (!havePeer(RSPAMD_BIN) || !havePeer(REDIS_BIN)) {
    console.log('rspamd: not installed; ClamAV only');
    return null;
  }
  return startRspamd();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
