// bench/smtp-submit: N messages over K authenticated submission connections (STARTTLS,
// AUTH PLAIN) to our daemon, which DKIM-signs, queues (fsync before 250) and relays to a
// local smart-host sink. Prints accepted messages/s and the time until the sink has them
// all. `--peer postfix` runs Debian's Postfix as a submission-to-smarthost relay on the
// same workload in the same run and prints the ratio. The daemon runs as its own process.
//
//   npm run bench:smtp -- [--messages 1000] [--connections 1,8] [--rounds 1] [--peer postfix] [--dkim off] [--warmup 50]
//
// `--warmup N` messages go to each server before the measured rounds. Our daemon compiles
// its hot code (V8, in the main thread and again in the relay thread) during the first few
// hundred messages; a larger N measures it as a long-running daemon runs.
//
// Work per message is not the same on both sides by default: we DKIM-sign (RSA-2048 and
// Ed25519), the Postfix peer has no signing milter (Debian's OpenDKIM is not installed).
// `--dkim off` runs ours without keys, which is the like-for-like comparison. Both sides get
// STARTTLS from the same client; we authenticate once per connection, Postfix trusts
// loopback (see smtp-postfix.ts). Each line also gives the server's CPU time per message
// (accepting and relaying, all processes and threads), which still means something on a
// busy machine, where the rates mostly measure the scheduler.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteDirectory } from '../src/directory/sqlite.js';
import { generateDkimKey } from '../src/relay/dkim-keys.js';
import { multipartMessage } from '../test/helpers/messages.js';
import { freePort, waitForPort } from '../test/helpers/ports.js';
import { startDaemon, type Daemon } from './daemon.js';
import { spreadOver } from './spread.js';
import { flag, medianByRate, percentile } from './stats.js';
import { BenchSmtpConnection } from './smtp-client.js';
import { startSink, type Sink } from './smtp-sink.js';
import { startPostfix } from './smtp-postfix.js';
import { treeCpuMs } from './smtp-cpu.js';

const DOMAIN = 'bench.test';
const USER = `sender@${DOMAIN}`;
const PASS = 'bench-password-1';

interface Args {
  messages: number;
  connections: number[];
  rounds: number;
  peer: 'postfix' | null;
  dkim: boolean;
  warmup: number;
}

function parseArgs(argv: string[]): Args {
  const get = (name: string): string | undefined => flag(argv, name);
  return {
    messages: Number(get('--messages') ?? 1000),
    connections: (get('--connections') ?? '1,8').split(',').map(Number),
    rounds: Number(get('--rounds') ?? 1),
    peer: get('--peer') === 'postfix' ? 'postfix' : null,
    dkim: get('--dkim') !== 'off',
    warmup: Number(get('--warmup') ?? 50),
  };
}

/** ≈10 KB MIME messages from our user, every tenth with a 100 KB attachment. */
function workload(n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => {
    const m = multipartMessage({ to: `r${i % 50}@remote.test`, id: `bench-${i}`, textBytes: 9000, attachmentBytes: i % 10 === 9 ? 100 * 1024 : 0 });
    return Buffer.from(m.toString('latin1').replace(/^From: .*$/m, `From: Bench <${USER}>`), 'latin1');
  });
}

interface Result {
  k: number;
  rate: number;
  p50: number;
  p99: number;
  relayedAfter: number;
  /** Server CPU ms per message, from the first send until the sink had them all. */
  cpuMs: number;
}

async function run(port: number, pid: number, auth: boolean, msgs: Buffer[], k: number, sink: Sink): Promise<Result> {
  sink.reset();
  const conns = await Promise.all(Array.from({ length: k }, () => BenchSmtpConnection.open({ port, ...(auth ? { user: USER, pass: PASS } : {}) })));
  const cpu0 = await treeCpuMs(pid);
  const t0 = performance.now();
  const latencies = await spreadOver(conns, msgs.length, (c, i) => c.send(USER, [`r${i % 50}@remote.test`], msgs[i]!));
  const accepted = performance.now();
  const last = await sink.waitFor(msgs.length);
  const cpuMs = (await treeCpuMs(pid)) - cpu0;
  for (const c of conns) c.close();
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => percentile(latencies, p);
  return { k, rate: msgs.length / ((accepted - t0) / 1000), p50: pct(0.5), p99: pct(0.99), relayedAfter: (Math.max(last, accepted) - t0) / 1000, cpuMs: cpuMs / msgs.length };
}

async function startOurs(root: string, sinkPort: number, dkim: boolean): Promise<Daemon> {
  const dataDir = join(root, 'ours');
  const port = await freePort();
  const directory = await openSqliteDirectory({ path: join(dataDir, 'directory.sqlite') });
  await directory.addDomain(DOMAIN);
  await directory.addUser(USER, PASS, { quotaMb: 0 });
  await directory.close();
  if (dkim) {
    await generateDkimKey(join(dataDir, 'dkim'), DOMAIN, 'rsa1', 'rsa');
    await generateDkimKey(join(dataDir, 'dkim'), DOMAIN, 'ed1', 'ed25519');
  }
  const cfg = join(root, 'ours.yaml');
  const off = (name: string) => `${name}:\n  starttls:\n    enabled: false\n  tls:\n    enabled: false\n`;
  await writeFile(
    cfg,
    [
      `dataDir: ${dataDir}`,
      'hostname: bench.local',
      'log:\n  level: warn',
      `lmtp:\n  port: ${await freePort()}`,
      off('imap'),
      off('pop3'),
      'http:\n  enabled: false',
      `submission:\n  maxMessagesPerHour: 0\n  starttls:\n    port: ${port}\n  tls:\n    enabled: false`,
      `relay:\n  host: 127.0.0.1\n  port: ${sinkPort}\n  password: bench\n  rejectUnauthorized: false\n  concurrency: 8`,
      '',
    ].join('\n'),
  );
  return startDaemon(cfg, port);
}

const fmt = (r: Result): string =>
  `K=${r.k}: ${r.rate.toFixed(0).padStart(5)} msg/s accepted   p50 ${r.p50.toFixed(1).padStart(6)} ms   p99 ${r.p99.toFixed(1).padStart(6)} ms   all relayed after ${r.relayedAfter.toFixed(2)} s   server CPU ${r.cpuMs.toFixed(2)} ms/msg`;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const root = await mkdtemp(join(tmpdir(), 'bench-smtp-'));
  const all = workload(Math.max(args.messages, args.warmup));
  const msgs = all.slice(0, args.messages);
  const bytes = msgs.reduce((a, m) => a + m.length, 0);
  console.log(`workload: ${msgs.length} messages, ${(bytes / msgs.length / 1024).toFixed(1)} KiB average, ${args.rounds} round(s) per K; ours ${args.dkim ? 'DKIM-signs (RSA + Ed25519)' : 'without DKIM keys'}; warm-up ${args.warmup}`);
  const stops: Array<() => Promise<void>> = [];
  try {
    const sinkOurs = await startSink();
    stops.push(() => sinkOurs.close());
    const ours = await startOurs(root, sinkOurs.port, args.dkim);
    stops.push(ours.stop);
    const targets: Array<{ name: string; port: number; pid: number; auth: boolean; sink: Sink }> = [{ name: 'ours', port: ours.port, pid: ours.pid, auth: true, sink: sinkOurs }];
    if (args.peer === 'postfix') {
      const sinkPf = await startSink();
      stops.push(() => sinkPf.close());
      const pfPort = await freePort();
      const pf = await startPostfix(root, pfPort, sinkPf.port);
      stops.push(pf.stop);
      await waitForPort(pfPort, null);
      targets.push({ name: 'postfix', port: pfPort, pid: pf.pid, auth: false, sink: sinkPf });
    }
    for (const t of targets) await run(t.port, t.pid, t.auth, all.slice(0, args.warmup), 2, t.sink); // warm-up
    for (const k of args.connections) {
      const per = new Map<string, Result[]>(targets.map((t) => [t.name, []]));
      for (let round = 0; round < args.rounds; round++) {
        for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
          const r = await run(t.port, t.pid, t.auth, msgs, k, t.sink);
          per.get(t.name)!.push(r);
          console.log(`${t.name.padEnd(8)} round ${round + 1}  ${fmt(r)}`);
        }
      }
      const med = medianByRate<Result>;
      const o = med(per.get('ours')!);
      const p = per.get('postfix');
      const cpu = (rs: Result[]): string => [...rs].map((r) => r.cpuMs).sort((a, b) => a - b)[Math.floor(rs.length / 2)]!.toFixed(2);
      console.log(
        `K=${k} median: ours ${o.rate.toFixed(0)} msg/s (CPU ${cpu(per.get('ours')!)} ms/msg)` +
          (p?.length ? `, postfix ${med(p).rate.toFixed(0)} msg/s (CPU ${cpu(p)} ms/msg), ratio ${(o.rate / med(p).rate).toFixed(2)}` : ''),
      );
    }
  } finally {
    for (const s of stops.reverse()) await s().catch((err: unknown) => console.error(err));
    await rm(root, { recursive: true, force: true });
  }
}

await main();
