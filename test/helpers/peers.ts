// Real test peers (Debian packages, Python) are required under CI and skipped loudly
// elsewhere, naming the script that installs them.
import { spawn, spawnSync } from 'node:child_process';

export const INSTALL_SCRIPT = '.ci/install-test-deps.sh';

export function havePeer(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** True when the suite may run; throws under CI=true when the peer is missing. */
export function requirePeer(command: string, suite: string): boolean {
  if (havePeer(command)) return true;
  const msg = `${suite}: '${command}' is not installed; run ${INSTALL_SCRIPT} (as root) to install the test peers`;
  if (process.env.CI === 'true') throw new Error(msg);
  console.warn(`\n*** SKIPPING ${msg} ***\n`);
  return false;
}

/**
 * Runs a peer program without blocking the event loop: the daemon under test lives in the
 * same process, so spawnSync would deadlock against it.
 */
export function runPeer(
  command: string,
  args: string[],
  opts: { input?: string | Buffer; timeoutMs?: number } = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    // A peer that exits without reading its input would raise EPIPE here, uncaught.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}
