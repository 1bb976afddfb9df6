// Our daemon as its own process, as in production, so the benchmark client's CPU use is not
// charged to it.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitForPort } from '../test/helpers/ports.js';

export interface Daemon {
  port: number;
  pid: number;
  stop: () => Promise<void>;
}

/** Starts the built daemon on `cfg` and resolves once `port` (one of its listeners) accepts. */
export async function startDaemon(cfg: string, port: number): Promise<Daemon> {
  const main = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', 'src', 'main.js');
  // BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the daemon alone.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, main, '--config', cfg], { stdio: ['ignore', 'inherit', 'inherit'] });
  await waitForPort(port, child);
  return {
    port,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((r) => {
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  };
}
