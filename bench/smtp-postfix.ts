// Postfix from Debian as the benchmark's peer: a submission-to-smarthost relay in a
// temporary directory with its own main.cf/master.cf, on loopback ports, with Postfix's
// default durability (every message fsynced before 250). No SASL is configured (Debian's
// Postfix would need Cyrus or Dovecot SASL for that): loopback clients are trusted through
// mynetworks instead, which spares Postfix the AUTH exchange our daemon does.
import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { ensureSelfSigned } from '../src/tls/selfsigned.js';

const run = promisify(execFile);

export async function startPostfix(root: string, port: number, sinkPort: number): Promise<{ pid: number; stop: () => Promise<void> }> {
  const dir = join(root, 'postfix');
  const etc = join(dir, 'etc');
  await mkdir(etc, { recursive: true });
  // Postfix's daemons run as the postfix user: they must be able to reach the queue (mkdtemp makes 0700).
  await chmod(root, 0o755);
  const tls = await ensureSelfSigned(join(dir, 'tls'), 'bench-postfix.local', 'TLSv1.2', pino({ level: 'silent' }));
  await writeFile(join(etc, 'cert.pem'), tls.cert);
  await writeFile(join(etc, 'key.pem'), tls.key, { mode: 0o600 });
  const main = `
compatibility_level = 3.6
queue_directory = ${dir}/spool
data_directory = ${dir}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = bench-postfix.local
mydomain = bench-postfix.local
myorigin = $myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:${sinkPort}
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = permit_mynetworks, reject
smtpd_tls_security_level = may
smtpd_tls_cert_file = ${etc}/cert.pem
smtpd_tls_key_file = ${etc}/key.pem
smtp_tls_security_level = encrypt
message_size_limit = 26214400
maillog_file = ${dir}/maillog
maillog_file_prefixes = ${dir}
biff = no
smtpd_banner = $myhostname ESMTP
default_destination_concurrency_limit = 20
`;
  const master = `
127.0.0.1:${port} inet n - n - - smtpd
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
tlsmgr    unix - - n 1000? 1 tlsmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
`;
  await writeFile(join(etc, 'main.cf'), main);
  await writeFile(join(etc, 'master.cf'), master);
  await mkdir(join(dir, 'data'), { recursive: true });
  await mkdir(join(dir, 'spool'), { recursive: true });
  const { stdout: uid } = await run('id', ['-u', 'postfix']);
  const { stdout: gid } = await run('id', ['-g', 'postfix']);
  await chown(join(dir, 'data'), Number(uid), Number(gid));
  await run('postfix', ['-c', etc, 'check']).catch(() => undefined); // creates the queue directories
  try {
    await run('postfix', ['-c', etc, 'start']);
  } catch (err) {
    const log = await readFile(join(dir, 'maillog'), 'utf8').catch(() => '');
    throw new Error(`postfix did not start: ${log.split('\n').slice(-5).join('\n')}`, { cause: err });
  }
  // The master's pid, for the CPU figure (its children are smtpd, cleanup, qmgr, smtp, ...).
  // The master writes it once running, which may be a moment after `postfix start` returned.
  let pid = 0;
  for (let i = 0; i < 100 && !pid; i++) {
    pid = Number((await readFile(join(dir, 'spool', 'pid', 'master.pid'), 'utf8').catch(() => '')).trim());
    if (!pid) await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid,
    async stop() {
      await run('postfix', ['-c', etc, 'stop']).catch(() => undefined);
    },
  };
}
