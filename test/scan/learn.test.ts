// Learning from the user's moves (issue 7, part 3). With the real Rspamd and imapflow: a
// message moved into Junk is learned as spam, moved back out as ham, moved from Junk to
// Trash not at all; Rspamd's own Bayes counters (in its Redis) and /stat show it. With a
// fake controller on port 0: the MOVE reply does not wait for a controller that hangs, a
// controller answering 500 is retried with backoff until it takes the learn, and a wrong
// password (the real controller's 401) is not retried.
import http from 'node:http';
import { ImapFlow } from 'imapflow';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanSection } from '../../src/config/sections/scan.js';
import { createSpamLearner, learnKindOf } from '../../src/scan/learn.js';
import { startTestServer, type TestServer } from '../helpers/app.js';
import { rspamdAvailable, startRspamd, type Rspamd } from '../helpers/rspamd.js';
import { lmtpSend } from './support.js';

const USER = 'alice@example.test';
const PASS = 'pw-alice-learn';
const run = rspamdAvailable('Rspamd learning tests');

/** Distinct wording per message: Rspamd refuses to learn the same content twice. */
function message(n: number, topic: string): string {
  const words = `${topic} number ${n}: ` + Array.from({ length: 30 }, (_, i) => `${topic}${(n * 31 + i) % 97} offer${i}`).join(' ');
  return [
    'From: Promo <promo@remote.test>',
    `To: ${USER}`,
    `Subject: ${topic} ${n}`,
    `Message-ID: <${topic}-${n}-${Date.now()}@remote.test>`,
    'Date: Mon, 23 Nov 2026 09:00:00 +0000',
    '',
    words,
    '',
  ].join('\r\n');
}

async function withAlice(srv: TestServer): Promise<TestServer> {
  await srv.app.directory.addDomain('example.test');
  await srv.addUser(USER, PASS);
  return srv;
}

async function imap(srv: TestServer): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: '127.0.0.1',
    port: srv.port('imap'),
    secure: false,
    doSTARTTLS: true,
    tls: { rejectUnauthorized: false },
    auth: { user: USER, pass: PASS },
    logger: false,
  });
  await client.connect();
  return client;
}

/** Delivers over LMTP and returns the new message's UID in INBOX. */
async function deliver(srv: TestServer, client: ImapFlow, raw: string): Promise<number> {
  const [r] = await lmtpSend(srv.lmtpPort, [USER], raw);
  expect(r).toMatch(/^250 /);
  const subject = /^Subject: (.*)$/m.exec(raw)![1]!;
  await client.noop(); // the new message is announced (EXISTS) before it is searched for
  const uids = (await client.search({ header: { subject } }, { uid: true })) || [];
  expect(uids).toHaveLength(1);
  return uids[0]!;
}

async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

it('which moves teach what', () => {
  expect(learnKindOf('INBOX', 'Junk')).toBe('spam');
  expect(learnKindOf('Archive', 'Junk')).toBe('spam');
  expect(learnKindOf('Junk', 'INBOX')).toBe('ham');
  expect(learnKindOf('Junk', 'Archive/2026')).toBe('ham');
  expect(learnKindOf('Junk', 'Trash')).toBeNull();
  expect(learnKindOf('INBOX', 'Trash')).toBeNull();
  expect(learnKindOf('Junk', 'Junk')).toBeNull();
  expect(learnKindOf('INBOX', 'Archive')).toBeNull();
});

describe.runIf(run)('learning with the real Rspamd', () => {
  let rspamd: Rspamd;
  let srv: TestServer;
  let client: ImapFlow;

  beforeAll(async () => {
    rspamd = await startRspamd();
    srv = await withAlice(
      await startTestServer({ scan: { rspamd: { url: rspamd.url, controllerUrl: rspamd.controllerUrl, controllerPassword: rspamd.password } } } as never),
    );
    client = await imap(srv);
    await client.mailboxOpen('INBOX');
  }, 180_000);
  afterAll(async () => {
    await client?.logout().catch(() => {});
    await srv?.stop();
    await rspamd?.stop();
  });

  it('MOVE into Junk learns spam, back out learns ham, Junk to Trash learns nothing', async () => {
    const a = await deliver(srv, client, message(1, 'watches'));
    const b = await deliver(srv, client, message(2, 'pills'));
    const c = await deliver(srv, client, message(3, 'loans'));
    // Each step waits for its own counter to move from the value just before it: a relearn
    // (spam, then ham) may or may not take the spam count back down.
    let before = await rspamd.bayesLearns();
    const learnedBefore = (await rspamd.stat()).learned as number;

    const moved = await client.messageMove(String(a), 'Junk', { uid: true });
    expect(moved && moved.uidMap?.size).toBe(1);
    await until('spam learn', () => rspamd.bayesLearns(), (v) => v.spam === before.spam + 1);
    expect((await rspamd.stat()).learned).toBe(learnedBefore + 1);

    // Out of Junk again: Rspamd relearns it as ham.
    before = await rspamd.bayesLearns();
    await client.mailboxOpen('Junk');
    const inJunk = moved && moved.uidMap!.get(a)!;
    await client.messageMove(String(inJunk), 'INBOX', { uid: true });
    await until('ham learn', () => rspamd.bayesLearns(), (v) => v.ham === before.ham + 1);

    // b: into Junk (spam), then Junk → Trash (no opinion), then c into Junk (spam). The
    // learner works in order, so once c is learned the Trash move has had its turn.
    before = await rspamd.bayesLearns();
    await client.mailboxOpen('INBOX');
    const bMoved = await client.messageMove(String(b), 'Junk', { uid: true });
    await until('spam learn of b', () => rspamd.bayesLearns(), (v) => v.spam === before.spam + 1);
    before = await rspamd.bayesLearns();
    await client.mailboxOpen('Junk');
    await client.messageMove(String(bMoved && bMoved.uidMap!.get(b)!), 'Trash', { uid: true });
    await client.mailboxOpen('INBOX');
    await client.messageMove(String(c), 'Junk', { uid: true });
    const end = await until('spam learn of c', () => rspamd.bayesLearns(), (v) => v.spam === before.spam + 1);
    expect(end.ham).toBe(before.ham);
    expect(srv.logs.filter((l) => l.msg === 'learned').map((l) => l.kind)).toEqual(['spam', 'ham', 'spam', 'spam']);
  });

  it('a wrong controller password is refused (401) and not retried', async () => {
    const logs: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => void logs.push(JSON.parse(s)) });
    const cfg = scanSection.parse({ rspamd: { controllerUrl: rspamd.controllerUrl, controllerPassword: 'wrong', learnBackoffSeconds: 0.05 } }).rspamd;
    const learner = createSpamLearner(cfg, srv.app.store, logger)!;
    const uid = await deliver(srv, client, message(4, 'casino'));
    learner.moved({ domain: 'example.test', localPart: 'alice' }, 'Junk', 'INBOX', [uid], logger);
    await learner.idle();
    expect(logs.filter((l) => l.msg === 'learn refused by controller').map((l) => l.status)).toEqual([401]);
    expect(logs.some((l) => l.msg === 'learn: controller unavailable')).toBe(false);
    await learner.close();
  });
});

describe('learning against a fake controller', () => {
  type Mode = 'ok' | '500' | 'hang';
  let mode: Mode = 'ok';
  const seen: Array<{ path: string; password: string | undefined; body: string }> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ path: req.url ?? '', password: req.headers['password'] as string | undefined, body: Buffer.concat(chunks).toString('latin1') });
      if (mode === 'hang') return;
      res.statusCode = mode === '500' ? 500 : 200;
      res.end(mode === '500' ? '{"error":"backend down"}' : '{"success":true}');
    });
  });
  let srv: TestServer;
  let client: ImapFlow;

  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const controllerUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    srv = await withAlice(
      await startTestServer({
        scan: { rspamd: { controllerUrl, controllerPassword: 'pw-controller', timeoutSeconds: 3, learnRetries: 3, learnBackoffSeconds: 0.2 } },
      } as never),
    );
    client = await imap(srv);
    await client.mailboxOpen('INBOX');
  });
  afterAll(async () => {
    await client?.logout().catch(() => {});
    await srv?.stop();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('the MOVE reply does not wait for a controller that hangs', async () => {
    mode = 'hang';
    seen.length = 0;
    const uid = await deliver(srv, client, message(5, 'hang'));
    const t0 = performance.now();
    await client.messageMove(String(uid), 'Junk', { uid: true });
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(1000); // the learn's own timeout is 3 s
    await until('learn request', async () => seen.length, (n) => n >= 1);
    expect(seen[0]!.path).toBe('/learnspam');
    expect(seen[0]!.password).toBe('pw-controller');
    expect(seen[0]!.body).toContain('hang number 5:');
    // Let the hung learn time out (and be retried later) before the next test.
    mode = 'ok';
    await until('hung learn retried', async () => srv.logs.filter((l) => l.msg === 'learned').length, (n) => n >= 1, 15_000);
  });

  it('a controller answering 500 is retried with backoff until it takes the learn', async () => {
    mode = '500';
    seen.length = 0;
    const uid = await deliver(srv, client, message(6, 'retry'));
    const learnedBefore = srv.logs.filter((l) => l.msg === 'learned').length;
    await client.messageMove(String(uid), 'Junk', { uid: true });
    await until('two failed attempts', async () => seen.length, (n) => n >= 2);
    mode = 'ok';
    await until('learned after retry', async () => srv.logs.filter((l) => l.msg === 'learned').length, (n) => n === learnedBefore + 1);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(new Set(seen.map((s) => s.body)).size).toBe(1); // the same message each time, whole
    expect(seen[0]!.body).toContain('retry number 6:');
    expect(srv.logs.filter((l) => l.msg === 'learn: controller failed').length).toBeGreaterThanOrEqual(2);
  });
});
