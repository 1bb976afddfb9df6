// Starts Debian's Dovecot (LMTP only) in a private directory on a free loopback port, as
// the comparison peer of bench/lmtp-ingest. Same Maildir layout as ours
// (maildir:<root>/%d/%n); its own defaults otherwise (mail_fsync = optimized, which
// fsyncs each delivered file).
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { freePort, waitForPort } from './lmtp-ingest.js';

export async function startDovecot(dir: string, users: string[]): Promise<{ lmtpPort: number; stop: () => Promise<void> }> {
  await mkdir(join(dir, 'run'), { recursive: true });
  await mkdir(join(dir, 'mail'), { recursive: true });
  const port = await freePort();
  const { uid, gid } = userInfo();
  await writeFile(join(dir, 'users'), users.map((u) => `${u}:{PLAIN}x:${uid}:${gid}::${dir}/home/${u}::\n`).join(''));
  await writeFile(
    join(dir, 'dovecot.conf'),
    `base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
protocols = lmtp
ssl = no
listen = 127.0.0.1
first_valid_uid = 0
first_valid_gid = 0
mail_location = maildir:${dir}/mail/%d/%n
passdb {
  driver = passwd-file
  args = ${dir}/users
}
userdb {
  driver = passwd-file
  args = ${dir}/users
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${port}
  }
}
`,
  );
  const child = spawn('dovecot', ['-F', '-c', join(dir, 'dovecot.conf')], { stdio: ['ignore', 'inherit', 'inherit'] });
  await waitForPort(port, child);
  return {
    lmtpPort: port,
    stop: () =>
      new Promise<void>((r) => {
        if (child.exitCode !== null) return r();
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  };
}
