// `npm start`: load the configuration (file or built-in defaults), start every listener,
// stop gracefully on SIGTERM/SIGINT.
import './threadpool.js';
import { loadConfig, ConfigError } from './config/load.js';
import { createLogger } from './log.js';
import { startApp } from './app.js';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  if (i >= 0) return process.argv[i + 1];
  const eq = process.argv.find((a) => a.startsWith(`${name}=`));
  return eq?.slice(name.length + 1);
}

async function main(): Promise<void> {
  let config;
  try {
    config = await loadConfig({ path: argValue('--config'), env: process.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`mailserver: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.log).child({ svc: 'main' });
  const app = await startApp(config, logger);
  logger.info(
    { services: app.services.map((s) => ({ name: s.name, addresses: s.addresses() })), dataDir: config.dataDir },
    'mailserver started',
  );

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    app
      .stop()
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'stop failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // certbot/tailscale deploy hooks can send SIGHUP instead of waiting for the file watch.
  process.on('SIGHUP', () => void app.tls.reload());
  // A bug in one session must not take every user's mail down: log it and keep serving.
  process.on('uncaughtException', (err) => logger.fatal({ err }, 'uncaught exception'));
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
}

main().catch((err: unknown) => {
  process.stderr.write(`mailserver: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
