// Real test peers (Debian packages, Python) are required under CI and skipped loudly
// elsewhere, naming the script that installs them.
import { spawnSync } from 'node:child_process';

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
