import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { DirectoryError, type UserRecord } from '../directory/types.js';
import { parseAddress } from '../directory/validate.js';
import { withContext, type CliContext, type GlobalOptions } from './context.js';
import { CliError } from './errors.js';
import { activeText, quotaText, table } from './format.js';
import { parsePasswdFile } from './passwd-file.js';
import { readNewPassword } from './password-input.js';

function parseQuota(text: string): number {
  if (!/^\d{1,10}$/.test(text)) throw new CliError(`invalid quota ${JSON.stringify(text)} (whole MB, 0 = unlimited)`);
  return Number(text);
}

/** Fails before any prompt when the address cannot be added anyway. */
async function checkAddable(ctx: CliContext, address: string): Promise<string> {
  const parsed = parseAddress(address);
  if (!(await ctx.directory.getDomain(parsed.domain))) throw new DirectoryError('not-found', `domain ${parsed.domain} does not exist`);
  if (await ctx.directory.getUser(parsed.address)) throw new DirectoryError('exists', `user ${parsed.address} already exists`);
  return parsed.address;
}

/** Creates Maildirs for new users; on failure removes those users again, so nothing is half-applied. */
async function createMaildirs(ctx: CliContext, users: UserRecord[]): Promise<void> {
  try {
    for (const u of users) await ctx.ensureMaildir({ domain: u.domain, localPart: u.localPart });
  } catch (err) {
    for (const u of users) await ctx.directory.removeUser(u.address).catch(() => undefined);
    throw new CliError(`cannot create the Maildir, nothing added: ${(err as Error).message.split('\n')[0]}`);
  }
}

export function registerUserCommands(user: Command, globals: () => GlobalOptions): void {
  user
    .command('add <address>')
    .description('add a user and create its Maildir')
    .option('--quota <mb>', 'quota in MB (0 = unlimited; default from config)')
    .option('--password-stdin', 'read the password from the first line of stdin')
    .action(async (address: string, opts: { quota?: string; passwordStdin?: boolean }) => {
      const quotaMb = opts.quota === undefined ? undefined : parseQuota(opts.quota);
      await withContext(globals(), async (ctx) => {
        const normalized = await checkAddable(ctx, address);
        const password = await readNewPassword(opts);
        const rec = await ctx.directory.addUser(normalized, password, quotaMb === undefined ? {} : { quotaMb });
        await createMaildirs(ctx, [rec]);
        process.stdout.write(`added user ${rec.address} (quota ${quotaText(rec.quotaMb)})\n`);
      });
    });

  user
    .command('list [domain]')
    .description('list users')
    .action(async (domain: string | undefined) => {
      await withContext(globals(), async ({ directory }) => {
        const users = await directory.listUsers(domain);
        process.stdout.write(table(users.map((u) => [u.address, quotaText(u.quotaMb), activeText(u.active)])));
      });
    });

  user
    .command('remove <address>')
    .description('remove a user from the directory (its Maildir stays on disk)')
    .action(async (address: string) => {
      await withContext(globals(), async ({ directory }) => {
        await directory.removeUser(address);
        process.stdout.write(`removed user ${parseAddress(address).address}; its mail stays on disk\n`);
      });
    });

  user
    .command('passwd <address>')
    .description('set a new password')
    .option('--password-stdin', 'read the password from the first line of stdin')
    .action(async (address: string, opts: { passwordStdin?: boolean }) => {
      await withContext(globals(), async ({ directory }) => {
        const parsed = parseAddress(address);
        if (!(await directory.getUser(parsed.address))) throw new DirectoryError('not-found', `user ${parsed.address} does not exist`);
        await directory.setPassword(parsed.address, await readNewPassword(opts));
        process.stdout.write(`password changed for ${parsed.address}\n`);
      });
    });

  user
    .command('quota <address> <mb>')
    .description('set the quota in MB (0 = unlimited)')
    .action(async (address: string, mb: string) => {
      const quotaMb = parseQuota(mb);
      await withContext(globals(), async ({ directory }) => {
        await directory.setQuota(address, quotaMb);
        process.stdout.write(`quota of ${parseAddress(address).address} is ${quotaText(quotaMb)}\n`);
      });
    });

  for (const [verb, active] of [['enable', true], ['disable', false]] as const) {
    user
      .command(`${verb} <address>`)
      .description(`${verb} logins and delivery for a user`)
      .action(async (address: string) => {
        await withContext(globals(), async ({ directory }) => {
          await directory.setActive(address, active);
          process.stdout.write(`${verb}d user ${parseAddress(address).address}\n`);
        });
      });
  }

  user
    .command('import-passwd <file>')
    .description('import users from a Dovecot passwd-file, all or nothing (domains must exist)')
    .action(async (file: string) => {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        throw new CliError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      const { entries, errors } = parsePasswdFile(text);
      await withContext(globals(), async (ctx) => {
        for (const e of entries) {
          const domain = e.address.slice(e.address.lastIndexOf('@') + 1);
          if (!(await ctx.directory.getDomain(domain))) errors.push(`line ${e.line}: domain ${domain} does not exist`);
          else if (await ctx.directory.getUser(e.address)) errors.push(`line ${e.line}: user ${e.address} already exists`);
        }
        if (errors.length > 0) {
          errors.sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]));
          throw new CliError(`${file}: nothing imported: ${errors.join('; ')}`);
        }
        if (entries.length === 0) throw new CliError(`${file}: no users found`);
        if (!ctx.directory.importUsers) throw new CliError('import-passwd needs the SQLite directory (directory.driver: sqlite)');
        const added = await ctx.directory.importUsers(
          entries.map((e) => (e.quotaMb === undefined ? { address: e.address, passwordHash: e.passwordHash } : { address: e.address, passwordHash: e.passwordHash, quotaMb: e.quotaMb })),
        );
        await createMaildirs(ctx, added);
        process.stdout.write(`imported ${added.length} user(s)\n`);
      });
    });
}
