import type { Command } from 'commander';
import { withContext, type GlobalOptions } from './context.js';
import { table } from './format.js';

export function registerAliasCommands(alias: Command, globals: () => GlobalOptions): void {
  alias
    .command('add <source> <dest...>')
    .description('forward SOURCE (local@domain, or @domain for a catch-all) to one or more addresses')
    .action(async (source: string, dests: string[]) => {
      await withContext(globals(), async ({ directory }) => {
        const rec = await directory.addAlias(source, dests);
        process.stdout.write(`alias ${rec.source} -> ${rec.destinations.join(', ')}\n`);
      });
    });

  alias
    .command('list [domain]')
    .description('list aliases, one source per line')
    .action(async (domain: string | undefined) => {
      await withContext(globals(), async ({ directory }) => {
        const aliases = await directory.listAliases(domain);
        process.stdout.write(table(aliases.map((a) => [a.source, a.destinations.join(', ')])));
      });
    });

  alias
    .command('remove <source> [dest]')
    .description('remove an alias, or only one of its destinations')
    .action(async (source: string, dest: string | undefined) => {
      await withContext(globals(), async ({ directory }) => {
        await directory.removeAlias(source, dest);
        process.stdout.write(dest === undefined ? `removed alias ${source.toLowerCase()}\n` : `removed ${dest.toLowerCase()} from alias ${source.toLowerCase()}\n`);
      });
    });
}
