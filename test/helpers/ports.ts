// Ports for servers started by tests and benchmarks: a free one to bind, and waiting until
// a child process has bound its own.
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';

/**
 * A loopback port that refuses connections for the whole run. A port freed after
 * listen(0) does not: a test running in parallel can bind it in the meantime (CI saw
 * that race). Nothing serves tcpmux (1), and no test binds below 1024.
 */
export const REFUSED_PORT = 1;

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** Polls until 127.0.0.1:port accepts; fails early if `child` exits first. */
export async function waitForPort(port: number, child: ChildProcess | null, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect({ port, host: '127.0.0.1' }, () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} did not open`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}
