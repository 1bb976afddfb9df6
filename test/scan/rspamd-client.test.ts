// The Rspamd client (src/scan/rspamd.ts) against the real Rspamd: each action Rspamd can
// answer, the headers it is sent (read back from Rspamd's own /history), a message spooled
// to disk streamed as the body, and the latency of a scan.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import libmime from 'libmime';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanSection } from '../../src/config/sections/scan.js';
import { spoolMessage, type SpooledMessage } from '../../src/delivery/spool.js';
import type { InboundEnvelope } from '../../src/delivery/types.js';
import { createRspamdScanner } from '../../src/scan/rspamd.js';
import { folderFor } from '../../src/scan/spam-policy.js';
import type { ScanOutcome } from '../../src/scan/types.js';
import { GTUBE, rspamdAvailable, startRspamd, type Rspamd } from '../helpers/rspamd.js';
import { isoJpSubject } from '../helpers/messages.js';
import { REFUSED_PORT } from '../helpers/ports.js';

const enabled = rspamdAvailable('rspamd client tests');
const quiet = pino({ level: 'silent' });

describe.skipIf(!enabled)('Rspamd client against the real rspamd', () => {
  let rspamd: Rspamd;
  let spoolDir: string;
  const spooled: SpooledMessage[] = [];

  beforeAll(async () => {
    spoolDir = await mkdtemp(path.join(os.tmpdir(), 'rspamd-spool-'));
    rspamd = await startRspamd();
    console.info(`rspamd started in ${rspamd.startSeconds.toFixed(1)} s`);
  }, 180_000);

  afterAll(async () => {
    for (const m of spooled) await m.dispose();
    await rm(spoolDir, { recursive: true, force: true });
    await rspamd?.stop();
  });

  const cfg = (over: Record<string, unknown> = {}) => scanSection.parse({ rspamd: { url: rspamd.url, timeoutSeconds: 10, ...over } }).rspamd;

  async function spool(raw: string | Buffer): Promise<SpooledMessage> {
    const m = await spoolMessage(Readable.from([Buffer.from(raw)]), { spoolDir, maxBytes: 30 * 1024 * 1024 });
    spooled.push(m);
    return m;
  }

  const envelope = (over: Partial<InboundEnvelope> = {}): InboundEnvelope => ({
    mailFrom: 'sender@example.org',
    recipients: ['alice@example.test'],
    remoteAddress: '127.0.0.1',
    heloName: 'mta.example.org',
    protocol: 'LMTP',
    sessionId: `q${Math.random().toString(36).slice(2, 10)}`,
    ...over,
  });

  const message = (body: string, subject = 'Lunch tomorrow?', extra = ''): string =>
    [
      'From: Sender <sender@example.org>',
      'To: Alice <alice@example.test>',
      `Subject: ${subject}`,
      'Date: Mon, 23 Nov 2026 09:00:00 +0000',
      `Message-ID: <${Math.random().toString(36).slice(2)}@example.org>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      ...(extra ? [extra] : []),
      '',
      body,
      '',
    ].join('\r\n');

  async function scan(raw: string, over: Record<string, unknown> = {}, env = envelope(), user?: string): Promise<ScanOutcome> {
    const scanner = createRspamdScanner(cfg(over), quiet);
    return scanner.scan({ env, message: await spool(raw), log: quiet, ...(user ? { user } : {}) });
  }

  const header = (o: ScanOutcome, name: string): string | undefined => o.edits.add.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];

  it('answers ping with pong, and a closed port is unreachable', async () => {
    expect(await createRspamdScanner(cfg(), quiet).ping()).toBe(true);
    const closed = `http://127.0.0.1:${REFUSED_PORT}`;
    expect(await createRspamdScanner(cfg({ url: closed }), quiet).ping()).toBe(false);
  });

  it('GTUBE is refused with 550 5.7.1, or filed in Junk with rejectAction: junk', async () => {
    const raw = message(`Test message\r\n${GTUBE.reject}`);
    const refused = await scan(raw);
    expect(refused.refuse).toEqual({ code: 550, enhanced: '5.7.1', text: 'Gtube pattern' });
    expect(refused.spam?.action).toBe('reject');

    const junked = await scan(raw, { rejectAction: 'junk' });
    expect(junked.refuse).toBeUndefined();
    expect(header(junked, 'X-Spam-Flag')).toBe('YES');
    expect(folderFor('alice@example.test', junked, cfg({ rejectAction: 'junk' }))).toBe('Junk');
  });

  it('add header: X-Spam-* headers, the sender\'s own copies removed, Junk unless the user opts out', async () => {
    const o = await scan(message(`Cheap offer\r\n${GTUBE.addHeader}`, 'Offer', 'X-Spam-Flag: NO'));
    expect(o.refuse).toBeUndefined();
    expect(o.spam).toMatchObject({ action: 'add header', score: 6, required: 15 });
    expect(header(o, 'X-Spam-Flag')).toBe('YES');
    expect(header(o, 'X-Spam-Status')).toBe('Yes, score=6.00 required=15.00');
    expect(header(o, 'X-Spam-Score')).toBe('6.00');
    expect(header(o, 'X-Spam-Action')).toBe('add header');
    expect(o.edits.remove).toEqual(expect.arrayContaining(['X-Spam-Flag', 'X-Spam-Status', 'X-Spam-Score', 'X-Spam-Action']));
    expect(o.edits.subject).toBeUndefined();

    const settings = cfg({ users: { 'bob@example.test': { junk: false }, 'carol@example.test': { threshold: 10 }, 'dave@example.test': { threshold: 5 } } });
    expect(folderFor('alice@example.test', o, settings)).toBe('Junk');
    expect(folderFor('Bob@Example.test', o, settings)).toBe('INBOX'); // junk: false
    expect(folderFor('carol@example.test', o, settings)).toBe('INBOX'); // 6 < her 10
    expect(folderFor('dave@example.test', o, settings)).toBe('Junk');
    expect(folderFor('alice@example.test', o, cfg({ junk: false }))).toBe('INBOX');
  });

  it('rewrite subject: an ISO-2022-JP subject comes back rewritten and RFC 2047-encoded', async () => {
    const o = await scan(message(`Buy now\r\n${GTUBE.rewriteSubject}`, isoJpSubject('会議の資料について')));
    expect(o.spam?.action).toBe('rewrite subject');
    expect(o.edits.subject).toMatch(/^[\x20-\x7e]+$/); // encoded-words only
    expect(libmime.decodeWords(o.edits.subject!)).toBe('*** SPAM *** 会議の資料について');
    expect(header(o, 'X-Spam-Flag')).toBe('YES');

    const ascii = await scan(message(`Buy now\r\n${GTUBE.rewriteSubject}`, 'Great deal'));
    expect(ascii.edits.subject).toBe('*** SPAM *** Great deal');
  });

  it('a clean message: no action, score headers, milter block applied, INBOX; Rspamd saw the envelope', async () => {
    const env = envelope({ recipients: ['alice@example.test', 'bob@example.test'], mailFrom: '' });
    const o = await scan(message('Are we still on for lunch tomorrow at noon? Let me know.', 'Lunch', 'X-Remove-Me: please'), {}, env, 'alice@example.test');
    expect(o.refuse).toBeUndefined();
    expect(o.spam?.action).toBe('no action');
    expect(o.spam!.score).toBeLessThan(4);
    expect(header(o, 'X-Spam-Flag')).toBeUndefined();
    expect(header(o, 'X-Spam-Status')).toMatch(/^No, score=-?\d+\.\d\d required=15\.00$/);
    // Rspamd's milter_headers (configured by the helper): its headers added, X-Remove-Me removed.
    expect(header(o, 'X-Rspamd-Queue-Id')).toBe(env.sessionId);
    expect(header(o, 'X-Spamd-Bar')).toBeDefined();
    expect(o.edits.remove).toContain('X-Remove-Me');
    expect(folderFor('alice@example.test', o, cfg())).toBe('INBOX');

    // What Rspamd received, from its own history: IP, the null sender, both Rcpt lines, User.
    const hist = await fetch(`${rspamd.controllerUrl}/history`, { headers: { Password: rspamd.password } });
    const rows = ((await hist.json()) as { rows: Array<Record<string, unknown>> }).rows;
    const row = rows.find((r) => (r['message-id'] as string | undefined) && r['user'] === 'alice@example.test');
    expect(row).toBeDefined();
    expect(row!['ip']).toBe('127.0.0.1');
    expect(row!['rcpt_smtp']).toEqual(['alice@example.test', 'bob@example.test']);
  });

  it('an SMTPUTF8 envelope is sent as UTF-8 (Node refuses such header values unless handed over as bytes)', async () => {
    const env = envelope({ mailFrom: 'jürgen@例え.jp', recipients: ['ユーザー@example.test'], heloName: 'mta.例え.jp' });
    const o = await scan(message('Viele Grüße aus Tokyo, bis bald.', 'Gruss'), {}, env, 'ユーザー@example.test');
    expect(o.refuse).toBeUndefined();
    expect(o.spam).toBeDefined();
    // Rspamd 3.4 keeps User as sent; its SMTP address parser does not take 8-bit addresses
    // (From/Rcpt show as unknown in its history), which costs no points.
    const hist = await fetch(`${rspamd.controllerUrl}/history`, { headers: { Password: rspamd.password } });
    const rows = ((await hist.json()) as { rows: Array<Record<string, unknown>> }).rows;
    expect(rows.some((r) => r['user'] === 'ユーザー@example.test')).toBe(true);
  });

  it('greylist: mail from an outside address that scores is deferred with 451 4.7.1', async () => {
    // Offline, an outside IP collects DNS-failure points (~4.5) past the greylist threshold (4).
    const o = await scan(message('Hello, please see the attached offer for your company.', 'Offer'), {}, envelope({ remoteAddress: '::ffff:203.0.113.7' }));
    expect(o.refuse).toEqual({ code: 451, enhanced: '4.7.1', text: 'Try again later' });
    expect(o.spam?.action).toBe('soft reject');
  });

  it('streams a message spooled to disk (3 MB) and measures scan latency', async () => {
    const big = message(`${'Quarterly report attached. '.repeat(40)}\r\n`.repeat(3000), 'Report');
    const m = await spool(big);
    expect(m.size).toBeGreaterThan(3 * 1024 * 1024);
    const scanner = createRspamdScanner(cfg(), quiet);
    const t0 = performance.now();
    const o = await scanner.scan({ env: envelope(), message: m, log: quiet });
    const bigMs = performance.now() - t0;
    expect(o.refuse).toBeUndefined();
    expect(o.spam?.action).toBe('no action');

    const small = await spool(message('Short note about tomorrow.'));
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      await scanner.scan({ env: envelope(), message: small, log: quiet });
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    console.info(`rspamd scan latency: small p50 ${times[10]!.toFixed(1)} ms, max ${times[19]!.toFixed(1)} ms; 3 MB ${bigMs.toFixed(0)} ms`);
  });
});
