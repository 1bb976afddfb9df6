// `mailserver dkim generate|show`: DKIM keys and the DNS records to publish, plus SPF and
// DMARC records that fit relaying through SendGrid.
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import type { ResolvedConfig } from '../config/schema.js';
import { activeKeys, dnsRecordValue, generateDkimKey, listDomainKeys, zoneTxt, type DkimKey, type DkimKeyType } from '../relay/dkim-keys.js';
import { dkimKeyDir } from '../smtp/index.js';
import type { GlobalOptions } from './context.js';
import { CliError, UsageError } from './errors.js';

async function config(globals: GlobalOptions): Promise<ResolvedConfig> {
  return loadConfig(globals.config !== undefined ? { path: globals.config } : {});
}

function defaultSelector(type: DkimKeyType, now = new Date()): string {
  // A dated selector per type: rotation adds a new one beside the old (RFC 6376 3.1).
  const ym = `${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
  return `${type === 'rsa' ? 'rsa' : 'ed'}${ym}`;
}

function records(domain: string, keys: DkimKey[], active: DkimKey[]): string {
  const out: string[] = [];
  out.push(`; DKIM for ${domain} (keys in ${keys[0] ? keys[0].path.replace(/\/[^/]+$/, '') : '-'})`);
  for (const k of keys) {
    const on = active.includes(k) ? 'signing' : 'not signing (another selector of this type is active)';
    out.push(`; ${k.type} selector ${k.selector}: ${on}`);
    out.push(`${k.selector}._domainkey.${domain}. IN TXT ${zoneTxt(dnsRecordValue(k))}`);
  }
  out.push('');
  out.push('; SPF: SendGrid sends for us. Mail goes out with SendGrid\'s envelope sender unless');
  out.push('; SendGrid domain authentication is set up (its CNAMEs), so DMARC passes on our DKIM.');
  out.push(`${domain}. IN TXT "v=spf1 include:sendgrid.net ~all"`);
  out.push('');
  out.push('; DMARC: start with p=none and reports, move to quarantine/reject once reports are clean.');
  out.push(`_dmarc.${domain}. IN TXT "v=DMARC1; p=none; adkim=r; aspf=r; rua=mailto:postmaster@${domain}"`);
  return out.join('\n') + '\n';
}

export function registerDkimCommands(dkim: Command, globals: () => GlobalOptions): void {
  dkim
    .command('generate <domain>')
    .description('create a DKIM key (mode 0600) and print the DNS records to publish')
    .option('--selector <s>', 'selector (default: rsaYYYYMM or edYYYYMM)')
    .option('--type <t>', 'rsa (2048 bit) or ed25519', 'rsa')
    .action(async (domainArg: string, o: { selector?: string; type: string }) => {
      if (o.type !== 'rsa' && o.type !== 'ed25519') throw new UsageError(`--type must be rsa or ed25519, not '${o.type}'`);
      const type = o.type as DkimKeyType;
      const cfg = await config(globals());
      const domain = domainArg.toLowerCase();
      const dir = dkimKeyDir(cfg);
      const selector = (o.selector ?? defaultSelector(type)).toLowerCase();
      const existing = await listDomainKeys(dir, domain);
      // One selector names one DNS record: it cannot hold an RSA and an Ed25519 key at once.
      if (existing.some((k) => k.selector === selector)) throw new CliError(`selector ${selector} already has a key for ${domain}; pick another --selector`);
      let key: DkimKey;
      try {
        key = await generateDkimKey(dir, domain, selector, type);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      const keys = await listDomainKeys(dir, domain);
      process.stdout.write(`wrote ${key.path}\n`);
      process.stdout.write(records(domain, keys, activeKeys(keys, cfg.dkim.selectors[domain])));
    });

  dkim
    .command('show <domain>')
    .description('print the DNS records for the domain\'s DKIM keys, SPF and DMARC')
    .action(async (domainArg: string) => {
      const cfg = await config(globals());
      const domain = domainArg.toLowerCase();
      const keys = await listDomainKeys(dkimKeyDir(cfg), domain);
      if (keys.length === 0) throw new CliError(`no DKIM key for ${domain}; run: mailserver dkim generate ${domain}`);
      process.stdout.write(records(domain, keys, activeKeys(keys, cfg.dkim.selectors[domain])));
    });
}
