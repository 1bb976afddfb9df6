// The driver switch: `directory.driver` picks the backend behind the Directory interface.
import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/schema.js';
import type { Directory } from './types.js';

export async function openDirectory(config: ResolvedConfig, logger: Logger): Promise<Directory> {
  const common = {
    defaultQuotaMb: config.directory.defaultQuotaMb,
    recipientDelimiter: config.delivery.recipientDelimiter,
    passwordScheme: config.directory.passwordScheme,
    logger,
  };
  if (config.directory.driver === 'mariadb') {
    const { openMariadbDirectory } = await import('./mariadb.js');
    const { mariadbSection } = await import('../config/sections/mariadb.js');
    // The block is optional in the file; its keys have defaults.
    return openMariadbDirectory({ ...common, mariadb: config.directory.mariadb ?? mariadbSection.parse({}) });
  }
  const { openSqliteDirectory } = await import('./sqlite.js');
  return openSqliteDirectory({ ...common, path: config.directory.path });
}
