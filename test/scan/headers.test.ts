// Header edits and the folding of scanner outcomes. The transform is checked on its own at
// every chunk size (the header block may arrive split anywhere, even inside CRLF); then the
// real pipeline and store with stand-in scanners: Junk per recipient, edits on every copy,
// X-Scan-Skipped, first refusal wins, a scanner that throws.
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyHeaderEdits } from '../../src/scan/header-edits.js';
import { noEdits, type HeaderEdits, type MessageScanner, type ScanOutcome } from '../../src/scan/types.js';
import { scanStageOf } from '../../src/scan/index.js';
import { createDeliveryPipeline } from '../../src/delivery/pipeline.js';
import { spoolMessage } from '../../src/delivery/spool.js';
import { reply } from '../../src/delivery/types.js';
import { configSchema } from '../../src/config/schema.js';
import { startTestServer, type TestServer } from '../helpers/app.js';
import { storedMessages } from './support.js';

async function edit(input: string, edits: HeaderEdits, chunk: number): Promise<string> {
  const parts: Buffer[] = [];
  const src = Buffer.from(input, 'latin1');
  for (let i = 0; i < src.length; i += chunk) parts.push(src.subarray(i, i + chunk));
  const out: Buffer[] = [];
  for await (const c of Readable.from(parts).pipe(applyHeaderEdits(edits))) out.push(c as Buffer);
  return Buffer.concat(out).toString('latin1');
}

const silent = pino({ level: 'silent' });

const spamEdits: HeaderEdits = {
  add: [
    ['X-Spam', 'Yes'],
    ['X-Spamd-Result', 'default: False [7.10 / 15.00]'],
  ],
  remove: ['x-spam-flag'],
  subject: '***SPAM*** old subject',
};

const CASES: Array<[string, string, HeaderEdits, string]> = [
  [
    'adds at the top, removes a folded field everywhere (any case), replaces a folded Subject, leaves the body alone',
    'Received: from a\r\nX-Spam-Flag: YES\r\n\tcontinued\r\n  twice\r\nSubject: old\r\n subject\r\nFrom: x@y\r\nx-spam-FLAG : again\r\nX-Spam-Flagged: kept\r\n\r\nSubject: body line\r\nX-Spam-Flag: body\r\n',
    spamEdits,
    'X-Spam: Yes\r\nX-Spamd-Result: default: False [7.10 / 15.00]\r\nReceived: from a\r\nSubject: ***SPAM*** old subject\r\nFrom: x@y\r\nX-Spam-Flagged: kept\r\n\r\nSubject: body line\r\nX-Spam-Flag: body\r\n',
  ],
  [
    'adds a Subject when the message has none, before the blank line',
    'From: x@y\r\n\r\nbody\r\n',
    { add: [], remove: [], subject: '***SPAM***' },
    'From: x@y\r\nSubject: ***SPAM***\r\n\r\nbody\r\n',
  ],
  [
    'LF-only messages keep their line ends; only the second Subject stays',
    'Subject: one\nSubject: two\nX-Spam-Flag: y\n\nbody\n',
    { add: [['X-A', '1']], remove: ['X-Spam-Flag'], subject: 'new' },
    'X-A: 1\r\nSubject: new\r\nSubject: two\n\nbody\n',
  ],
  [
    'a message that is all header, its last line without an end of line',
    'From: x@y\r\nSubject: last',
    { add: [], remove: [], subject: 'replaced' },
    'From: x@y\r\nSubject: replaced\r\n',
  ],
  [
    'values cannot inject header lines',
    'From: x@y\r\n\r\nb',
    { add: [['X-Scan-Skipped', 'clamav (x)\r\nBcc: victim@example.com']], remove: [] },
    'X-Scan-Skipped: clamav (x) Bcc: victim@example.com\r\nFrom: x@y\r\n\r\nb',
  ],
  ['an empty message gets just the added fields', '', { add: [['X-A', '1']], remove: [] }, 'X-A: 1\r\n'],
];

describe('header edits as a streaming transform', () => {
  for (const [name, input, edits, expected] of CASES) {
    it(name, async () => {
      for (let chunk = 1; chunk <= Math.max(1, input.length); chunk++) expect([chunk, await edit(input, edits, chunk)]).toEqual([chunk, expected]);
    });
  }
});

describe('scan stage in the delivery pipeline (stand-in scanners, real store)', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({});
    await srv.app.directory.addDomain('example.test');
    for (const u of ['alice', 'bob']) await srv.addUser(`${u}@example.test`, 'pw');
  });
  afterAll(async () => srv?.stop());

  const scanCfg = configSchema.parse({ scan: { rspamd: { users: { 'bob@example.test': { junk: false } } } } }).scan;
  const fake = (name: 'clamav' | 'rspamd', answer: () => ScanOutcome | Promise<ScanOutcome>) => {
    const s = { name, calls: 0, scan: async () => (s.calls++, answer()), ping: async () => true };
    return s satisfies MessageScanner;
  };
  const send = async (scanners: MessageScanner[], subject: string, cfg = scanCfg) => {
    const pipeline = createDeliveryPipeline({ directory: srv.app.directory, store: srv.app.store, logger: silent, hostname: 'mx.test', scan: scanStageOf(scanners, cfg) });
    const raw = `From: s@remote.test\r\nSubject: ${subject}\r\nX-Spam-Flag: forged\r\n\r\nhello\r\n`;
    const message = await spoolMessage(Readable.from([Buffer.from(raw)]), { spoolDir: `${srv.dataDir}/spool`, maxBytes: 1 << 20 });
    const env = { mailFrom: 's@remote.test', recipients: ['alice@example.test', 'bob@example.test'], remoteAddress: '192.0.2.1', heloName: 'remote.test', protocol: 'LMTP' as const, sessionId: subject.replace(/ /g, '-') };
    const replies = await pipeline.deliver(env, message, silent);
    // The session id (in our Received line) finds the copies even after the subject rewrite.
    const stored = (await storedMessages(srv.mailRoot)).filter((m) => m.text.includes(` id ${subject.replace(/ /g, '-')}\n`));
    return { replies, stored };
  };

  it("Rspamd's add header: alice's copy in Junk, bob's (junk off) in INBOX, both with the edits; ClamAV's skip is noted first", async () => {
    const clam = fake('clamav', () => ({ edits: noEdits(), skipped: 'timeout' }));
    const spam = fake('rspamd', () => ({ edits: spamEdits, spam: { score: 7.1, required: 15, action: 'add header' } }));
    const { replies, stored } = await send([clam, spam], 'spammy one');
    expect(replies.map((r) => r.code)).toEqual([250, 250]);
    expect(stored.map((m) => m.path.replace(srv.mailRoot, '').replace(/\/[^/]+$/, '')).sort()).toEqual(['/example.test/alice/.Junk/new', '/example.test/bob/new']);
    for (const m of stored) {
      const header = m.text.slice(0, m.text.indexOf('\n\n'));
      expect(header).toMatch(/\nX-Scan-Skipped: clamav \(timeout\)\nX-Spam: Yes\nX-Spamd-Result: default: False \[7\.10 \/ 15\.00\]\nFrom: s@remote\.test\nSubject: \*\*\*SPAM\*\*\* old subject$/);
      expect(header).not.toContain('X-Spam-Flag');
    }
  });

  it("a Junk folder the user deleted: the spam copy goes to INBOX instead of bouncing", async () => {
    await srv.app.store.deleteMailbox({ domain: 'example.test', localPart: 'bob' }, 'Junk');
    const spam = fake('rspamd', () => ({ edits: spamEdits, spam: { score: 20, required: 15, action: 'rewrite subject' } }));
    const scanCfgBob = { ...scanCfg, rspamd: { ...scanCfg.rspamd, users: {} } };
    const { replies, stored } = await send([spam], 'no junk folder', scanCfgBob);
    expect(replies.map((r) => r.code)).toEqual([250, 250]);
    expect(stored.map((m) => m.path.replace(srv.mailRoot, '').replace(/\/[^/]+$/, '')).sort()).toEqual(['/example.test/alice/.Junk/new', '/example.test/bob/new']);
  });

  it('the first refusal answers every recipient and later scanners are not asked', async () => {
    const clam = fake('clamav', () => ({ refuse: reply(554, '5.7.1', 'Message refused: virus found (Test.Sig)'), edits: noEdits() }));
    const spam = fake('rspamd', () => ({ edits: noEdits() }));
    const { replies, stored } = await send([clam, spam], 'infected one');
    expect(replies.map((r) => `${r.code} ${r.enhanced} ${r.text}`)).toEqual([
      '554 5.7.1 <alice@example.test>: Message refused: virus found (Test.Sig)',
      '554 5.7.1 <bob@example.test>: Message refused: virus found (Test.Sig)',
    ]);
    expect(spam.calls).toBe(0);
    expect(stored).toHaveLength(0);
  });

  it('a scanner that throws is a scanner failure: 451 4.7.0 under tempfail, nothing stored', async () => {
    const broken = fake('clamav', () => {
      throw new Error('bug');
    });
    const { replies, stored } = await send([broken], 'broken scanner');
    expect(replies.map((r) => `${r.code} ${r.enhanced}`)).toEqual(['451 4.7.0', '451 4.7.0']);
    expect(stored).toHaveLength(0);
  });
});
