// `mailserver import postfix` on a Postfix configuration directory: the smart host and its
// SASL password (stored in a 0600 file, never in the config) and the virtual aliases.
// Postfix's own `postconf` reads the same main.cf, to check our reading against it.
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { openSqliteDirectory } from '../../src/directory/sqlite.js';
import { parseMainCf } from '../../src/import/postfix.js';
import { havePeer, runPeer } from '../helpers/peers.js';

let dir: string;
const MAIN_CF = `# Postfix as the old stack had it
myhostname = mail.old.example
mydestination = localhost
virtual_mailbox_domains = old.example,
    second.example
virtual_alias_maps = hash:$config_directory/virtual
config_directory = ${'${CONFDIR}'}
relayhost = [smtp.sendgrid.net]:587
smtp_sasl_auth_enable = yes
smtp_sasl_password_maps = hash:/ETC/sasl_passwd
`;

const cli = runCli;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'postfix-import-'));
  const etc = path.join(dir, 'postfix');
  await mkdir(etc);
  await writeFile(path.join(etc, 'main.cf'), MAIN_CF.replace('${CONFDIR}', etc).replace('/ETC/', `${etc}/`));
  await writeFile(path.join(etc, 'sasl_passwd'), '[smtp.sendgrid.net]:587 apikey:SG.secret-api-key\n');
  await writeFile(path.join(etc, 'virtual'), '# aliases\npostmaster@old.example  alice@old.example\nteam@old.example alice@old.example, bob@old.example\n@second.example alice@old.example\nlocalonly root\n');
  await writeFile(path.join(dir, 'mailserver.yaml'), `dataDir: ${path.join(dir, 'data')}\n`);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('import postfix', () => {
  it('reads main.cf as Postfix does', async () => {
    const etc = path.join(dir, 'postfix');
    const ours = parseMainCf(await readFile(path.join(etc, 'main.cf'), 'utf8'));
    if (!havePeer('postconf')) return;
    for (const key of ['relayhost', 'virtual_mailbox_domains', 'virtual_alias_maps', 'smtp_sasl_password_maps']) {
      const r = await runPeer('postconf', ['-c', etc, '-x', '-h', key]);
      expect(r.status, r.stderr).toBe(0);
      expect(ours.get(key), key).toBe(r.stdout.trim());
    }
  });

  it('writes the relay settings with the password in a 0600 file, and imports domains and aliases', async () => {
    const cfg = path.join(dir, 'mailserver.yaml');
    const pw = path.join(dir, 'relay-password');
    const r = await cli('--config', cfg, 'import', 'postfix', '--postfix-dir', path.join(dir, 'postfix'), '--write-config', cfg, '--password-file', pw);
    expect(r.code).toBe(0);
    expect(r.out).toContain('relay: smtp.sendgrid.net:587 (STARTTLS) as apikey');
    expect(r.err).toContain('alias localonly: not an address');
    const written = await readFile(cfg, 'utf8');
    expect(written).not.toContain('SG.secret-api-key');
    expect(YAML.parse(written).relay).toEqual({ host: 'smtp.sendgrid.net', port: 587, implicitTls: false, user: 'apikey', passwordFile: pw });
    expect(await readFile(pw, 'utf8')).toBe('SG.secret-api-key');
    expect((await stat(pw)).mode & 0o777).toBe(0o600);
    const d = await openSqliteDirectory({ path: path.join(dir, 'data', 'directory.sqlite') });
    try {
      expect((await d.listDomains()).map((x) => x.name)).toEqual(['old.example', 'second.example']);
      expect((await d.listAliases()).map((a) => [a.source, a.destinations])).toEqual([
        ['postmaster@old.example', ['alice@old.example']],
        ['team@old.example', ['alice@old.example', 'bob@old.example']],
        ['@second.example', ['alice@old.example']],
      ]);
    } finally {
      await d.close();
    }
    // The written config loads: the relay password comes from its file.
    const { loadConfig } = await import('../../src/config/load.js');
    expect((await loadConfig({ path: cfg })).relay.password).toBe('SG.secret-api-key');
  });
});
