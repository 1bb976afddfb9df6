import type { Command } from 'commander';
import { withContext, type GlobalOptions } from './context.js';
import { CliError } from './errors.js';
import { activeText, table } from './format.js';

export function registerDomainCommands(domain: Command, globals: () => GlobalOptions): void {
  domain
    .command('add <name>')
    .description('add a domain')
    .action(async (name: string) => {
      await withContext(globals(), async ({ directory }) => {
        const rec = await directory.addDomain(name);
        process.stdout.write(`added domain ${rec.name}\n`);
      });
    });

  domain
    .command('list')
    .description('list domains')
    .action(async () => {
      await withContext(globals(), async ({ directory }) => {
        const domains = await directory.listDomains();
        process.stdout.write(table(domains.map((d) => [d.name, activeText(d.active)])));
      });
    });

  domain
    .command('remove <name>')
    .description('remove a domain that has no users or aliases left')
    .action(async (name: string) => {
      await withContext(globals(), async ({ directory }) => {
        await directory.removeDomain(name);
        process.stdout.write(`removed domain ${name.toLowerCase()}\n`);
      });
    });

  for (const [verb, active] of [['enable', true], ['disable', false]] as const) {
    domain
      .command(`${verb} <name>`)
      .description(`${verb} mail for a whole domain`)
      .action(async (name: string) => {
        await withContext(globals(), async ({ directory }) => {
          if (!directory.setDomainActive) throw new CliError(`domain ${verb} needs the SQLite directory (directory.driver: sqlite)`);
          await directory.setDomainActive(name, active);
          process.stdout.write(`${verb}d domain ${name.toLowerCase()}\n`);
        });
      });
  }
}
