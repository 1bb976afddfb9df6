// Starts Debian's Dovecot (LMTP only) in a private directory on a free loopback port, as
// the comparison peer of bench/lmtp-ingest. Same Maildir layout as ours
// (maildir:<root>/%d/%n); its own defaults otherwise (mail_fsync = optimized, which
// fsyncs each delivered file).
import { execFileSync, spawn } from 'node:child_process';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort, waitForPort } from './net-util.js';

export async function startDovecot(dir: string, users: string[]): Promise<{ lmtpPort: number; stop: () => Promise<void> }> {
  await mkdir(join(dir, 'run'), { recursive: true });
  await mkdir(join(dir, 'mail'), { recursive: true });
  const port = await freePort();
  // Dovecot refuses uid 0 for mail processes (passwd-file: "invalid UID"), so mail is
  // written as Debian's `mail` user, which owns the peer's directories.
  const uid = Number(execFileSync('id', ['-u', 'mail']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'mail']).toString().trim());
  await mkdir(join(dir, 'home'), { recursive: true });
  for (const d of ['mail', 'home']) await chown(join(dir, d), uid, gid);
  // mkdtemp makes 0700 directories; the mail user must be able to walk down to its Maildir.
  for (let p = dir; p !== dirname(p) && p.startsWith(tmpdir()) && p !== tmpdir(); p = dirname(p)) await chmod(p, 0o755);
  await writeFile(join(dir, 'users'), users.map((u) => `${u}:{PLAIN}x:${uid}:${gid}::${dir}/home/${u}::\n`).join(''));
  await writeFile(
    join(dir, 'dovecot.conf'),
    `base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
protocols = lmtp
ssl = no
listen = 127.0.0.1
first_valid_uid = ${uid}
first_valid_gid = ${gid}
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
