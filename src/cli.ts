// The `mailserver` admin command. Every failure ends as ONE stderr line
// (`mailserver: <message>`): exit 1 for a request that cannot be done, 2 for a
// malformed command line. Commands validate before they write, and the directory
// writes in transactions, so a failed command changes nothing.
import { Command, CommanderError } from 'commander';
import { DirectoryError } from './directory/types.js';
import { registerAliasCommands } from './cli/alias.js';
import type { GlobalOptions } from './cli/context.js';
import { registerDomainCommands } from './cli/domain.js';
import { CliError, UsageError } from './cli/errors.js';
import { registerUserCommands } from './cli/user.js';
import { registerDkimCommands } from './cli/dkim.js';
import { registerQueueCommands } from './cli/queue.js';
import { registerBackupCommand } from './cli/backup.js';
import { registerRestoreCommand } from './cli/restore.js';
import { registerImportCommands } from './cli/import.js';

const NAME = 'mailserver';

function oneLine(message: string): string {
  return message.replace(/^error: /, '').split('\n')[0]!.trim();
}

/** A parent command (`domain`, `user`, `alias`) run without a valid subcommand. */
function group(program: Command, name: string, description: string): Command {
  return program
    .command(name)
    .description(description)
    .allowExcessArguments(true)
    .action((_opts: unknown, cmd: Command) => {
      const sub = cmd.args[0];
      const known = cmd.commands.map((c) => c.name()).join(', ');
      if (sub === undefined) throw new UsageError(`${name}: missing subcommand (${known})`);
      throw new UsageError(`${name}: unknown subcommand '${sub}' (${known})`);
    });
}

export function buildProgram(): Command {
  const program = new Command(NAME);
  program
    .description('Administer the mail server: domains, users, aliases, configuration.')
    .option('--config <path>', 'config file (default: $MAILSERVER_CONFIG, else built-in defaults)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => process.stdout.write(s),
      writeErr: (s) => process.stderr.write(s),
      outputError: (s, write) => write(`${NAME}: ${oneLine(s)}\n`),
    })
    .showSuggestionAfterError(true);

  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  registerDomainCommands(group(program, 'domain', 'manage domains'), globals);
  registerUserCommands(group(program, 'user', 'manage users'), globals);
  registerAliasCommands(group(program, 'alias', 'manage aliases and catch-alls'), globals);
  registerDkimCommands(group(program, 'dkim', 'DKIM keys and the DNS records to publish'), globals);
  registerQueueCommands(group(program, 'queue', 'the outbound queue'), globals);
  registerImportCommands(group(program, 'import', 'take over a Dovecot or Postfix install'), globals);
  registerBackupCommand(program, globals);
  registerRestoreCommand(program, globals);
  // Subcommands inherit the groups' allowExcessArguments; switch it back off so a
  // stray argument (a password typed after the address) is a usage error.
  for (const g of program.commands) for (const sub of g.commands) sub.allowExcessArguments(false);

  program
    .command('check-config')
    .description('validate the configuration and report problems')
    .action(async () => {
      const { checkConfig } = await import('./cli/check-config.js');
      const opts: { path?: string } = {};
      if (globals().config !== undefined) opts.path = globals().config!;
      process.exitCode = await checkConfig(opts);
    });

  return program;
}

/**
 * `import dovecot --config /etc/dovecot/dovecot.conf` is how operators (and the issue that
 * asked for the importer) write it, but `--config` is also the global option naming our own
 * config, which commander would take wherever it stands. After `import dovecot`, it means
 * Dovecot's file; our config is then given before the subcommand.
 */
export function dovecotConfigArgs(argv: string[]): string[] {
  const i = argv.indexOf('import');
  if (i < 0 || argv[i + 1] !== 'dovecot') return argv;
  return argv.map((a, j) => (j <= i + 1 ? a : a === '--config' ? '--dovecot-config' : a.startsWith('--config=') ? `--dovecot-config=${a.slice(9)}` : a));
}

/** Runs the CLI on `argv` (as process.argv) and returns the exit status. */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(dovecotConfigArgs(argv));
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version end here too; commander has already printed them.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return 0;
      return 2;
    }
    const e = err as Error;
    if (err instanceof UsageError) {
      process.stderr.write(`${NAME}: ${oneLine(e.message)}\n`);
      return 2;
    }
    if (err instanceof DirectoryError || err instanceof CliError || e?.name === 'ConfigError') {
      process.stderr.write(`${NAME}: ${oneLine(e.message)}\n`);
      return 1;
    }
    // Our bug or the system's (disk full, locked database): still one line, but say so.
    process.stderr.write(`${NAME}: internal error: ${oneLine(String(e?.message ?? err))}\n`);
    if (process.env.MAILSERVER_DEBUG) console.error(err);
    return 1;
  }
}
