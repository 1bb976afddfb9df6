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
  /** Bound port of a named service: lmtp, imap, imaps, pop3, pop3s, submission, submissions, http. */
  port(name: string): number;
  /** Adds a user the way `mailserver user add` does: directory entry plus Maildir. */
  addUser(address: string, password: string, opts?: { quotaMb?: number }): Promise<void>;
  stop(): Promise<void>;
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export async function startTestServer(overrides: DeepPartial<ResolvedConfig> = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mailserver-test-'));
  // Every listener on port 0: tests never use fixed ports.
  const ephemeral = {
    lmtp: { port: 0 },
    imap: { starttls: { port: 0 }, tls: { port: 0 } },
    pop3: { starttls: { port: 0 }, tls: { port: 0 } },
    submission: { starttls: { port: 0 }, tls: { port: 0 } },
    http: { port: 0 },
  };
  const parsed = configSchema.parse(deepMerge(deepMerge({}, ephemeral), { ...overrides, dataDir }) as unknown);
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
    port: (name) => app.port(name),
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

function deepMerge(target: Record<string, unknown>, source: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(source)) {
    const t = target[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && t && typeof t === 'object' && !Array.isArray(t)) {
      target[k] = deepMerge({ ...(t as Record<string, unknown>) }, v as Record<string, unknown>);
    } else {
      target[k] = v;
    }
  }
  return target;
}
