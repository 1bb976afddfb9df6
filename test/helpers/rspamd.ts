// Starts the real Rspamd (Debian's /usr/bin/rspamd 3.x) on loopback for the scanning and
// learning tests, with its Bayes statistics in a redis-server of its own.
//
// Debian's /etc/rspamd/rspamd.conf is used as is; everything of the test's own comes in
// through --var: LOCAL_CONFDIR (local.d/override.d files written here), DBDIR, RUNDIR and
// LOGDIR in a temporary directory. The one thing kept between runs is the hyperscan cache
// (hs_cache_dir under the OS temp dir, keyed by Rspamd's version): compiling it takes
// 15-25 s on the first start, later starts take a few seconds.
//
// What the configuration does for the tests:
// - the normal worker and the controller on free loopback ports; the proxy and fuzzy
//   workers off; the controller wants the password from every address (secure_ip is a
//   TEST-NET address), so a learn without the right `Password` header fails;
// - `enable_test_patterns` (Rspamd < 3.8): the GTUBE variants YJS… (add header), ZJS…
//   (rewrite subject) and AJS… (no action) work besides the standard XJS… (reject);
// - fuzzy_check off (its servers are on the internet);
// - Bayes in Redis with min_learns = 1; milter_headers adds X-Rspamd-Queue-Id and
//   X-Spamd-Bar and removes X-Remove-Me, for local mail too, so the milter block is real.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort, waitForPort } from './ports.js';
import { requirePeer, runPeer } from './peers.js';

export const RSPAMD_BIN = '/usr/bin/rspamd';
export const REDIS_BIN = '/usr/bin/redis-server';
const DEBIAN_CONF = '/etc/rspamd/rspamd.conf';

const GTUBE_TAIL = 'JS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';
/** Rspamd's GTUBE patterns by the action they force. */
export const GTUBE = {
  reject: `X${GTUBE_TAIL}`,
  addHeader: `Y${GTUBE_TAIL}`,
  rewriteSubject: `Z${GTUBE_TAIL}`,
  noAction: `A${GTUBE_TAIL}`,
} as const;

export interface Rspamd {
  /** Normal worker, e.g. http://127.0.0.1:40123 */
  url: string;
  controllerUrl: string;
  password: string;
  /** Seconds from spawn to both workers answering /ping. */
  startSeconds: number;
  /** The controller's /stat (scanned, learned, statfiles…). */
  stat(): Promise<Record<string, unknown>>;
  /** Bayes learn counters as Rspamd keeps them in Redis (updated synchronously by a learn). */
  bayesLearns(): Promise<{ spam: number; ham: number }>;
  log(): Promise<string>;
  stop(): Promise<void>;
}

/** True when the suite can run; under CI=true a missing binary fails instead (requirePeer). */
export function rspamdAvailable(suite: string): boolean {
  return requirePeer('rspamd', suite) && requirePeer('redis-server', suite) && requirePeer('redis-cli', suite);
}

export async function startRspamd(): Promise<Rspamd> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rspamd-'));
  const conf = path.join(dir, 'conf');
  for (const d of ['conf/local.d', 'conf/override.d', 'db', 'run', 'log']) await mkdir(path.join(dir, d), { recursive: true });
  const version = (await runPeer(RSPAMD_BIN, ['--version'])).stdout.match(/version ([\w.]+)/)?.[1] ?? 'unknown';
  const hsCache = path.join(os.tmpdir(), `mailserver-rspamd-hs-${version}`);
  await mkdir(hsCache, { recursive: true });
  const [normalPort, controllerPort, redisPort] = [await freePort(), await freePort(), await freePort()];
  const password = 'controller-secret';

  const redis = spawn(REDIS_BIN, ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const files: Record<string, string> = {
    'override.d/worker-normal.inc': `bind_socket = "127.0.0.1:${normalPort}";\ncount = 1;\n`,
    'override.d/worker-controller.inc': `bind_socket = "127.0.0.1:${controllerPort}";\npassword = "${password}";\nenable_password = "${password}";\nsecure_ip = "192.0.2.1";\n`,
    'override.d/worker-proxy.inc': 'enabled = false;\n',
    'override.d/logging.inc': `type = "file";\nfilename = "${dir}/log/rspamd.log";\nlevel = "info";\n`,
    'override.d/fuzzy_check.conf': 'enabled = false;\n',
    'local.d/options.inc': `hs_cache_dir = "${hsCache}/";\nenable_test_patterns = true;\n`,
    'local.d/redis.conf': `servers = "127.0.0.1:${redisPort}";\n`,
    'local.d/classifier-bayes.conf': `backend = "redis";\nservers = "127.0.0.1:${redisPort}";\nmin_learns = 1;\n`,
    'local.d/milter_headers.conf': [
      'use = ["x-rspamd-queue-id", "x-spamd-bar", "remove-headers"];',
      'skip_local = false;',
      'skip_authenticated = false;',
      'routines { remove-headers { headers { "X-Remove-Me" = 0; } } }',
      '',
    ].join('\n'),
  };
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(conf, name), text);

  const vars = { LOCAL_CONFDIR: conf, DBDIR: `${dir}/db`, RUNDIR: `${dir}/run`, LOGDIR: `${dir}/log` };
  const asRoot = process.getuid?.() === 0 ? ['-u', 'root', '-g', 'root'] : [];
  const started = Date.now();
  const child: ChildProcess = spawn(
    RSPAMD_BIN,
    ['-f', ...asRoot, ...Object.entries(vars).map(([k, v]) => `--var=${k}=${v}`), '-c', DEBIAN_CONF],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const redisExited = new Promise<void>((resolve) => redis.once('exit', () => resolve()));
  const log = async (): Promise<string> => (await readFile(path.join(dir, 'log/rspamd.log'), 'utf8').catch(() => '')) + output;

  // A caller that exits without stop() (a benchmark's process.exit, a failed run) must not
  // leave the daemons behind: 'exit' handlers may only act synchronously, and kill() is.
  const killOnExit = (): void => {
    for (const p of [child, redis]) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
  };
  process.once('exit', killOnExit);

  const stop = async (): Promise<void> => {
    process.off('exit', killOnExit);
    for (const [p, done] of [[child, exited], [redis, redisExited]] as const) {
      if (p.exitCode === null && p.signalCode === null) {
        p.kill('SIGTERM');
        const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
        await done;
        clearTimeout(t);
      }
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await waitForPort(redisPort, redis, { timeoutMs: 10_000, intervalMs: 50 });
    // The first start on a machine compiles the hyperscan cache before the workers answer.
    await waitForPong(`http://127.0.0.1:${normalPort}`, child, 120_000);
    await waitForPong(`http://127.0.0.1:${controllerPort}`, child, 30_000);
  } catch (err) {
    const text = await log();
    await stop();
    throw new Error(`rspamd did not start: ${(err as Error).message}\n${text.slice(-4000)}`);
  }
  const controllerUrl = `http://127.0.0.1:${controllerPort}`;
  return {
    url: `http://127.0.0.1:${normalPort}`,
    controllerUrl,
    password,
    startSeconds: (Date.now() - started) / 1000,
    async stat() {
      const res = await fetch(`${controllerUrl}/stat`, { headers: { Password: password } });
      if (!res.ok) throw new Error(`/stat answered ${res.status}`);
      return (await res.json()) as Record<string, unknown>;
    },
    async bayesLearns() {
      // Rspamd 3.x (new_schema): one hash `RS` with learns_spam / learns_ham.
      const r = await runPeer('redis-cli', ['-p', String(redisPort), 'hmget', 'RS', 'learns_spam', 'learns_ham']);
      const [spam, ham] = r.stdout.trim().split('\n').map((l) => Number(l) || 0);
      return { spam: spam ?? 0, ham: ham ?? 0 };
    },
    log,
    stop,
  };
}

async function waitForPong(base: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`rspamd exited (${child.exitCode ?? child.signalCode})`);
    try {
      const res = await fetch(`${base}/ping`, { signal: AbortSignal.timeout(1000) });
      if (res.ok && (await res.text()).trim() === 'pong') return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${base} did not answer /ping`);
    await delay(100);
  }
}
