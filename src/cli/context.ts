// What every admin command needs: the resolved config and an open directory, closed
// again however the command ends.
import pino, { type Logger } from 'pino';
import { loadConfig } from '../config/load.js';
import type { ResolvedConfig } from '../config/schema.js';
import { createLogger } from '../log.js';
import { openDirectory } from '../directory/open.js';
import type { SqliteDirectory } from '../directory/sqlite.js';
import type { Directory } from '../directory/types.js';
import type { MailUser } from '../maildir/types.js';

export interface GlobalOptions {
  config?: string;
}

export interface CliContext {
  config: ResolvedConfig;
  /** The configured backend; the SQLite-only bulk operations are there only with SQLite. */
  directory: Directory & Partial<Pick<SqliteDirectory, 'setDomainActive' | 'importUsers'>>;
  logger: Logger;
  /** Creates the user's Maildir with the default folders (idempotent). */
  ensureMaildir(user: MailUser): Promise<void>;
}

export async function withContext<T>(global: GlobalOptions, fn: (ctx: CliContext) => Promise<T>): Promise<T> {
  const loadOpts: { path?: string } = {};
  if (global.config !== undefined) loadOpts.path = global.config;
  const config = await loadConfig(loadOpts);
  // stdout belongs to command output; warnings (e.g. an unreadable hash) go to stderr.
  const logger = createLogger({ level: 'warn' }, pino.destination({ dest: 2, sync: true }));
  const directory = await openDirectory(config, logger);
  const ensureMaildir = async (user: MailUser) => {
    // Loaded on demand so the other commands work even if the store fails to load.
    const { createMaildirStore } = await import('../maildir/store.js');
    const store = createMaildirStore({ root: config.mailRoot, hostname: config.hostname, logger });
    await store.ensureUser(user);
  };
  try {
    return await fn({ config, directory, logger, ensureMaildir });
  } finally {
    await directory.close();
  }
}
