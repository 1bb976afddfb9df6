// Rspamd on inbound mail, end to end (issue 7, part 2): the real daemon, messages sent over
// LMTP on the raw wire, and the copies read back from the Maildirs. GTUBE is refused for
// every recipient; `add header` mail lands in Junk with the X-Spam-* headers (the sender's
// own X-Spam-Flag removed), except for a user with Junk delivery off or a higher threshold;
// `rewrite subject` rewrites an ISO-2022-JP subject; clean mail lands in INBOX with
// Rspamd's milter headers applied; the real greylist module defers mail that the HTTP
// ingest endpoint took from an outside client address.
import libmime from 'libmime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.js';
import { isoJpSubject } from '../helpers/messages.js';
import { GTUBE, rspamdAvailable, startRspamd, type Rspamd } from '../helpers/rspamd.js';
import { lmtpSend, storedMessages } from './support.js';

const run = rspamdAvailable('Rspamd delivery tests');
const RCPTS = ['alice@example.test', 'carol@example.test', 'dave@example.test'];
const TOKEN = 'ingest-token-for-rspamd-tests';

let rspamd: Rspamd;
let srv: TestServer;

function message(subject: string, body: string, extra: string[] = []): string {
  return [
    'From: Sender <sender@remote.test>',
    'To: alice@example.test',
    `Subject: ${subject}`,
    'Date: Mon, 23 Nov 2026 09:00:00 +0000',
    `Message-ID: <${Math.random().toString(36).slice(2)}@remote.test>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    ...extra,
    '',
    body,
    '',
  ].join('\r\n');
}

/** Copies whose header carries `marker`, as { user, folder, text }. */
async function copies(marker: string): Promise<Array<{ user: string; folder: string; text: string }>> {
  return (await storedMessages(srv.mailRoot))
    .filter((m) => m.text.includes(marker))
    .map((m) => {
      const rel = m.path.slice(srv.mailRoot.length + 1).split(/[/\\]/); // domain/user/[.Folder/]new/file
      return { user: `${rel[1]}@${rel[0]}`, folder: rel[2]!.startsWith('.') ? rel[2]!.slice(1) : 'INBOX', text: m.text };
    })
    .sort((a, b) => a.user.localeCompare(b.user));
}

const headerOf = (text: string, name: string): string[] => {
  const head = text.slice(0, text.indexOf('\r\n\r\n'));
  return [...head.matchAll(new RegExp(`^${name}: ?(.*)$`, 'gim'))].map((m) => m[1]!.trim());
};

describe.runIf(run)('Rspamd on inbound mail (real rspamd, LMTP)', () => {
  beforeAll(async () => {
    rspamd = await startRspamd();
    srv = await startTestServer({
      scan: {
        rspamd: {
          url: rspamd.url,
          timeoutSeconds: 10,
          users: { 'carol@example.test': { junk: false }, 'dave@example.test': { threshold: 8 } },
        },
      },
      // The ingest endpoint behind a trusted proxy passes the client's address on to Rspamd.
      http: { ingestTokens: [TOKEN], trustedProxies: ['127.0.0.1/32'] },
    } as never);
    await srv.app.directory.addDomain('example.test');
    for (const r of RCPTS) await srv.addUser(r, `pw-${r}`);
  }, 180_000);
  afterAll(async () => {
    await srv?.stop();
    await rspamd?.stop();
  });

  it('GTUBE: 550 5.7.1 for every recipient, nothing stored', async () => {
    const replies = await lmtpSend(srv.lmtpPort, RCPTS, message('gtube reject', `This is a test.\r\n${GTUBE.reject}`));
    expect(replies).toEqual(RCPTS.map((r) => `550 5.7.1 <${r}>: Gtube pattern`));
    expect(await copies('gtube reject')).toEqual([]);
  });

  it('add header: Junk with X-Spam-* (the forged flag removed); INBOX for junk: false and for a higher threshold', async () => {
    const replies = await lmtpSend(srv.lmtpPort, RCPTS, message('gtube add header', `Cheap offer.\r\n${GTUBE.addHeader}`, ['X-Spam-Flag: NO', 'X-Spam-Score: -100']));
    for (const r of replies) expect(r).toMatch(/^250 2\.0\.0 /);
    const got = await copies('gtube add header');
    expect(got.map((c) => [c.user, c.folder])).toEqual([
      ['alice@example.test', 'Junk'],
      ['carol@example.test', 'INBOX'], // junk: false
      ['dave@example.test', 'INBOX'], // threshold 8 > score 6
    ]);
    for (const c of got) {
      expect(headerOf(c.text, 'X-Spam-Flag')).toEqual(['YES']);
      expect(headerOf(c.text, 'X-Spam-Score')).toEqual(['6.00']);
      expect(headerOf(c.text, 'X-Spam-Status')).toEqual(['Yes, score=6.00 required=15.00']);
      expect(headerOf(c.text, 'X-Spam-Action')).toEqual(['add header']);
    }
  });

  it('rewrite subject: an ISO-2022-JP subject is rewritten, encoded, and the copy filed in Junk', async () => {
    const replies = await lmtpSend(srv.lmtpPort, ['alice@example.test'], message(isoJpSubject('請求書の件'), `Pay now.\r\n${GTUBE.rewriteSubject}`, ['X-Marker: rewrite-1']));
    expect(replies[0]).toMatch(/^250 /);
    const [c] = await copies('X-Marker: rewrite-1');
    expect(c!.folder).toBe('Junk');
    const subjects = headerOf(c!.text, 'Subject');
    expect(subjects).toHaveLength(1);
    expect(libmime.decodeWords(subjects[0]!)).toBe('*** SPAM *** 請求書の件');
  });

  it('clean mail: INBOX, X-Spam-Status No, Rspamd\'s milter headers added and removed', async () => {
    const body = 'Hi Alice, are we still meeting on Thursday to go through the budget? Best, Sam';
    const replies = await lmtpSend(srv.lmtpPort, ['alice@example.test'], message('budget meeting', body, ['X-Remove-Me: yes']));
    expect(replies[0]).toMatch(/^250 2\.0\.0 /);
    const [c] = await copies('budget meeting');
    expect(c!.folder).toBe('INBOX');
    expect(headerOf(c!.text, 'X-Spam-Flag')).toEqual([]);
    expect(headerOf(c!.text, 'X-Spam-Status')[0]).toMatch(/^No, score=-?\d+\.\d\d required=15\.00$/);
    expect(headerOf(c!.text, 'X-Spam-Action')).toEqual(['no action']);
    expect(headerOf(c!.text, 'X-Rspamd-Queue-Id')).toHaveLength(1);
    expect(headerOf(c!.text, 'X-Remove-Me')).toEqual([]);
    expect(c!.text).toContain(body);
  });

  it('greylist: HTTP ingest from an outside client address (X-Forwarded-For) is deferred with 451 4.7.1', async () => {
    // Offline, an outside address collects DNS-failure points past Rspamd's greylist threshold.
    const q = `from=sender%40remote.test&to=${encodeURIComponent('alice@example.test')}`;
    const res = await fetch(`http://127.0.0.1:${srv.port('http')}/ingest?${q}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'message/rfc822', 'x-forwarded-for': '203.0.113.9' },
      body: message('greylisted offer', 'Hello, please see our offer for your company.'),
    });
    expect(res.status).toBe(503);
    const body = (await res.json()) as { results: Array<{ status: string; code: number; enhanced: string }> };
    expect(body.results).toEqual([expect.objectContaining({ status: 'deferred', code: 451, enhanced: '4.7.1' })]);
    expect(await copies('greylisted offer')).toEqual([]);
  });

  it('/readyz includes Rspamd\'s /ping, and /healthz its last answer', async () => {
    const base = `http://127.0.0.1:${srv.port('http')}`;
    const ready = (await (await fetch(`${base}/readyz`)).json()) as { checks: Array<{ name: string; ok: boolean }> };
    expect(ready.checks).toContainEqual(expect.objectContaining({ name: 'scanner:rspamd', ok: true }));
    const health = (await (await fetch(`${base}/healthz`)).json()) as { checks?: Record<string, string> };
    expect(health.checks?.['scanner:rspamd']).toBe('up');
  });
});
