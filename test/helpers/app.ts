// Starts the real daemon (the composition root) on port 0 with a temporary data
// directory, and collects its JSON log lines so tests can assert on them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log.js';
import { configSchema, type ResolvedConfig } from '../../src/config/schema.js';
import { startApp, type App } from '../../src/app.js';

export interface TestServer {
  app: App;
  dataDir: string;
  mailRoot: string;
  logs: Array<Record<string, unknown>>;
  lmtpPort: number;
  /** Adds a user the way `mailserver user add` does: directory entry plus Maildir. */
  addUser(address: string, password: string, opts?: { quotaMb?: number }): Promise<void>;
  stop(): Promise<void>;
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export async function startTestServer(overrides: DeepPartial<ResolvedConfig> = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mailserver-test-'));
  const parsed = configSchema.parse({
    ...overrides,
    dataDir,
    lmtp: { port: 0, ...(overrides.lmtp ?? {}) },
  } as unknown);
  const config: ResolvedConfig = {
    ...parsed,
    hostname: overrides.hostname ?? 'mx.test.example',
    mailRoot: overrides.mailRoot ?? join(dataDir, 'mail'),
    directory: { ...parsed.directory, path: join(dataDir, 'directory.sqlite') },
  };
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line));
      cb();
    },
  });
  // The daemon's own logger set-up (redaction, fields), writing into the sink.
  const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'debug' }, sink);
  const app = await startApp(config, logger);
  return {
    app,
    dataDir,
    mailRoot: config.mailRoot,
    logs,
    lmtpPort: app.port('lmtp'),
    async addUser(address, password, opts) {
      const u = await app.directory.addUser(address, password, opts);
      await app.store.ensureUser({ domain: u.domain, localPart: u.localPart });
    },
    async stop() {
      await app.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
