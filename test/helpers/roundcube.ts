// Debian's Roundcube 1.6 (roundcube-core + roundcube-sqlite3) served by `php -S` with a
// configuration of the test's own: its own config dir (ROUNDCUBE_CONFIG_DIR, read by
// Debian's iniset.php), a fresh SQLite database from Roundcube's SQL/sqlite.initial.sql,
// private temp and log dirs, IMAP and SMTP pointed at our test daemon. Nothing under /etc or
// /var is touched. Roundcube's own logs (errors.log, and imap.log with every IMAP line it
// exchanged) stay in `logDir` so a failing test can print them.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { freePort, waitForPort } from './ports.js';

/** Where Debian installs Roundcube's code (program/, skins/, SQL/). */
export const ROUNDCUBE_DIR = '/usr/share/roundcube';
const ETC = '/etc/roundcube';

export interface Roundcube {
  url: string;
  logDir: string;
  /** Roundcube's errors.log (PHP errors and IMAP failures), or '' when there is none. */
  errors(): Promise<string>;
  /** Roundcube's IMAP protocol log (imap_debug): what it sent us and what we answered. */
  imapLog(): Promise<string>;
  stop(): Promise<void>;
}

export async function startRoundcube(opts: { imapPort: number; smtpPort: number }): Promise<Roundcube> {
  const dir = await mkdtemp(path.join(tmpdir(), 'roundcube-'));
  const configDir = path.join(dir, 'config');
  const logDir = path.join(dir, 'logs');
  const tempDir = path.join(dir, 'temp');
  await Promise.all([configDir, logDir, tempDir].map((d) => mkdir(d, { recursive: true })));
  // defaults.inc.php is loaded from the config dir before config.inc.php.
  await copyFile(path.join(ETC, 'defaults.inc.php'), path.join(configDir, 'defaults.inc.php'));
  await copyFile(path.join(ETC, 'mimetypes.php'), path.join(configDir, 'mimetypes.php'));
  const dbFile = path.join(dir, 'roundcube.sqlite');
  const db = new Database(dbFile);
  db.exec(await readFile(path.join(ROUNDCUBE_DIR, 'SQL', 'sqlite.initial.sql'), 'utf8'));
  db.close();
  const php = (v: string) => `'${v.replace(/[\\']/g, '\\$&')}'`;
  await writeFile(
    path.join(configDir, 'config.inc.php'),
    `<?php
$config = [];
$config['db_dsnw'] = ${php(`sqlite:///${dbFile}?mode=0600`)};
// Plain IMAP on loopback: the test daemon counts loopback as secure (auth.loopbackIsSecure).
$config['imap_host'] = ${php(`127.0.0.1:${opts.imapPort}`)};
$config['imap_debug'] = true;
$config['imap_cache'] = null;
$config['messages_cache'] = false;
$config['smtp_host'] = ${php(`tls://127.0.0.1:${opts.smtpPort}`)};
$config['smtp_conn_options'] = ['ssl' => ['verify_peer' => false, 'verify_peer_name' => false]];
$config['smtp_user'] = '%u';
$config['smtp_pass'] = '%p';
$config['des_key'] = 'test-des-key-0123456789ab';
$config['temp_dir'] = ${php(tempDir + '/')};
$config['log_dir'] = ${php(logDir + '/')};
$config['log_driver'] = 'file';
$config['plugins'] = [];
$config['skin'] = 'elastic';
$config['language'] = 'en_US';
$config['enable_spellcheck'] = false;
$config['auto_create_user'] = true;
// Roundcube's defaults, spelled out because the test relies on them: folders it shows
// with their roles, delete = move to Trash, and server-side SORT/THREAD when offered.
$config['drafts_mbox'] = 'Drafts';
$config['junk_mbox'] = 'Junk';
$config['sent_mbox'] = 'Sent';
$config['trash_mbox'] = 'Trash';
$config['flag_for_deletion'] = false;
$config['skip_deleted'] = false;
`,
  );
  // php -S cannot be told INSTALL_PATH; a router script defines it (Debian's default,
  // /var/lib/roundcube, exists only with the web-server packages) and serves static files.
  const router = path.join(dir, 'router.php');
  await writeFile(
    router,
    `<?php
define('INSTALL_PATH', ${php(ROUNDCUBE_DIR + '/')});
$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
if ($path !== '/' && $path !== '/index.php' && strpos($path, '..') === false && is_file(INSTALL_PATH . ltrim($path, '/'))) return false;
chdir(INSTALL_PATH);
require INSTALL_PATH . 'index.php';
`,
  );
  const port = await freePort();
  const child: ChildProcess = spawn('php', ['-S', `127.0.0.1:${port}`, '-t', ROUNDCUBE_DIR, router], {
    env: { ...process.env, ROUNDCUBE_CONFIG_DIR: configDir },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    // php -S logs every request on stderr; keep only the tail for failure reports.
    stderr = (stderr + d).slice(-20_000);
  });
  try {
    await waitForPort(port, child, { timeoutMs: 20_000 });
  } catch (err) {
    throw new Error(`php -S did not start: ${(err as Error).message}\n${stderr}`);
  }
  const read = (name: string) => readFile(path.join(logDir, name), 'utf8').catch(() => '');
  return {
    url: `http://127.0.0.1:${port}`,
    logDir,
    errors: () => read('errors.log'),
    imapLog: () => read('imap.log'),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
