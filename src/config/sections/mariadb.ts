import { z } from 'zod';
import { pathString, secretString } from '../fields.js';

export const mariadbSection = z
  .strictObject({
    host: z.string().default('127.0.0.1').describe('Server host (ignored when `socketPath` is set).'),
    port: z.number().int().min(1).max(65535).default(3306).describe('Server TCP port.'),
    socketPath: pathString().optional().describe('Unix socket instead of TCP (e.g. /run/mysqld/mysqld.sock).'),
    database: z.string().min(1).default('usermgmt').describe('Database holding the `domains`, `users` and `aliases` tables.'),
    user: z.string().min(1).default('mailserver').describe('Database user (SELECT; INSERT/UPDATE/DELETE for the admin commands).'),
    password: secretString().optional().describe('Database password: best from MAILSERVER__DIRECTORY__MARIADB__PASSWORD or `passwordFile`.'),
    connectionLimit: z.number().int().min(1).max(100).default(5).describe('Connections in the pool.'),
  })
  // No prefault: the block stays absent from a SQLite set-up's resolved config; the
  // driver switch fills the defaults when `driver: mariadb` comes without it.
  .describe('MariaDB/MySQL connection, used when `directory.driver` is `mariadb`.');
