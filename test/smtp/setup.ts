// Shared set-up for the submission and relay suites: the real daemon on port 0 with its
// relay pointed at a local fake smart host, one domain with users and an alias.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { startTestServer, type TestServer } from '../helpers/app.js';
import { startFakeSmartHost, RELAY_PASSWORD, type FakeSmartHost } from '../relay/smarthost.js';
import type { QueueService } from '../../src/smtp/index.js';

export interface SubmissionEnv {
  srv: TestServer;
  relay: FakeSmartHost;
  queue: QueueService;
  stop(): Promise<void>;
}

type Overrides = Parameters<typeof startTestServer>[0];

export async function startSubmissionEnv(overrides: Overrides = {}): Promise<SubmissionEnv> {
  const relay = await startFakeSmartHost();
  const o = (overrides ?? {}) as Record<string, Record<string, unknown>>;
  const srv = await startTestServer({
    ...overrides,
    relay: {
      host: '127.0.0.1',
      port: relay.port,
      password: RELAY_PASSWORD,
      // The fake smart host's certificate is self-signed: tests say so explicitly.
      rejectUnauthorized: false,
      retryInitialSeconds: 1,
      retryMaxSeconds: 2,
      ...(o.relay ?? {}),
    },
  } as Overrides);
  const d = srv.app.directory;
  await d.addDomain('example.test');
  await srv.addUser('alice@example.test', 'pw-alice-1');
  await srv.addUser('bob@example.test', 'pw-bob-1');
  await d.addAlias('sales@example.test', ['alice@example.test']);
  await d.addAlias('team@example.test', ['alice@example.test', 'bob@example.test']);
  const queue = srv.app.services.find((s) => s.name === 'queue') as QueueService;
  return {
    srv,
    relay,
    queue,
    async stop() {
      await srv.stop();
      await relay.close();
    },
  };
}

export function transport(env: SubmissionEnv, opts: { user?: string; pass?: string; implicit?: boolean } = {}) {
  const implicit = opts.implicit ?? false;
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port: env.srv.port(implicit ? 'submissions' : 'submission'),
    secure: implicit,
    requireTLS: !implicit,
    auth: { user: opts.user ?? 'alice@example.test', pass: opts.pass ?? 'pw-alice-1' },
    tls: { rejectUnauthorized: false },
  });
}

/** Raw files in a user's INBOX new/ directory. */
export async function inbox(env: SubmissionEnv, local: string, domain = 'example.test'): Promise<string[]> {
  const dir = join(env.srv.mailRoot, domain, local, 'new');
  const names = (await readdir(dir).catch(() => [] as string[])).sort();
  return Promise.all(names.map((n) => readFile(join(dir, n), 'utf8')));
}

export function message(opts: { from?: string; to?: string; subject?: string; body?: string; extra?: string } = {}): string {
  return [
    `From: ${opts.from ?? 'Alice <alice@example.test>'}`,
    `To: ${opts.to ?? 'friend@remote.test'}`,
    `Subject: ${opts.subject ?? 'hello'}`,
    ...(opts.extra ? [opts.extra] : []),
    '',
    opts.body ?? 'Hello there.',
    '',
  ].join('\r\n');
}

export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
