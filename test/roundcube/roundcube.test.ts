// Roundcube 1.6 (Debian's) in headless Chromium against our IMAP server: log in, list the
// inbox sorted by date and by sender (server-side SORT), the threads view (THREAD), open an
// ISO-2022-JP message with an attachment, create a folder, move, flag, delete, search, and
// the quota. Every step is checked in the page and, where it changes mail, on the server
// too. Screenshots go to test-artifacts/roundcube/; when a step fails, Roundcube's own
// errors.log and the tail of its IMAP log are printed.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.js';
import { isoJpSubject, toIso2022jp } from '../helpers/messages.js';
import { requirePeer } from '../helpers/peers.js';
import { ROUNDCUBE_DIR, startRoundcube, type Roundcube } from '../helpers/roundcube.js';
import { Imap } from '../imap/client.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(process.cwd(), 'test-artifacts', 'roundcube');
const USER = 'carol@example.test';
const PASS = 'roundcube-pass';
const JP_SUBJECT = '会議の資料について';
/** Each Roundcube request logs in to IMAP afresh: allow for a loaded machine. */
const POLL = { timeout: 15_000, interval: 200 };

function haveRoundcube(): boolean {
  if (!requirePeer(CHROMIUM, 'Roundcube in Chromium') || !requirePeer('php', 'Roundcube in Chromium')) return false;
  if (existsSync(`${ROUNDCUBE_DIR}/index.php`)) return true;
  const msg = `Roundcube in Chromium: ${ROUNDCUBE_DIR} is missing; run .ci/install-test-deps.sh (roundcube, roundcube-sqlite3)`;
  if (process.env.CI === 'true') throw new Error(msg);
  console.warn(`\n*** SKIPPING ${msg} ***\n`);
  return false;
}
const ready = haveRoundcube();

let srv: TestServer;
let rc: Roundcube;
let profile: string;
let context: BrowserContext;
let page: Page;

function msg(o: { from: string; subject: string; date: string; id: string; body?: string; inReplyTo?: string }): string {
  const head = [
    `From: ${o.from}`,
    `To: Carol <${USER}>`,
    `Subject: ${o.subject}`,
    `Date: ${o.date}`,
    `Message-ID: <${o.id}@example.test>`,
    ...(o.inReplyTo ? [`In-Reply-To: <${o.inReplyTo}@example.test>`, `References: <${o.inReplyTo}@example.test>`] : []),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
  ];
  return `${head.join('\r\n')}\r\n\r\n${o.body ?? `Body of ${o.subject}.`}\r\n`;
}

/** ISO-2022-JP text (subject, sender name, body) with a PDF attachment, as a Japanese MUA sends it. */
function japaneseWithAttachment(): Buffer {
  const boundary = 'jp-boundary-1';
  const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
  return Buffer.concat([
    Buffer.from(
      [
        `From: ${isoJpSubject('山田太郎')} <taro@example.jp>`,
        `To: ${USER}`,
        `Subject: ${isoJpSubject(JP_SUBJECT)}`,
        'Date: Tue, 17 Nov 2026 09:30:00 +0900',
        'Message-ID: <jp-attach@example.jp>',
        'MIME-Version: 1.0',
        `Content-Type: multipart/mixed; boundary="${boundary}"`,
        '',
        `--${boundary}`,
        'Content-Type: text/plain; charset=ISO-2022-JP',
        'Content-Transfer-Encoding: 7bit',
        '',
        '',
      ].join('\r\n'),
      'latin1',
    ),
    toIso2022jp('お世話になっております。\r\n添付の資料をご確認ください。\r\n'),
    Buffer.from(
      [
        `--${boundary}`,
        'Content-Type: application/pdf; name="shiryou.pdf"',
        'Content-Disposition: attachment; filename="shiryou.pdf"',
        'Content-Transfer-Encoding: base64',
        '',
        pdf.toString('base64'),
        `--${boundary}--`,
        '',
      ].join('\r\n'),
      'latin1',
    ),
  ]);
}

const SEED = [
  msg({ from: 'Mike Middle <mike@example.org>', subject: 'Budget review', date: 'Mon, 16 Nov 2026 10:00:00 +0000', id: 'm1' }),
  msg({ from: 'Alice Adams <alice@example.org>', subject: 'Project plan', date: 'Wed, 18 Nov 2026 10:00:00 +0000', id: 'p1' }),
  msg({ from: 'Zed Zulu <zed@example.org>', subject: 'Re: Project plan', date: 'Thu, 19 Nov 2026 10:00:00 +0000', id: 'p2', inReplyTo: 'p1' }),
  msg({ from: 'Bob Brown <bob@example.org>', subject: 'Lunch on Friday', date: 'Fri, 20 Nov 2026 12:00:00 +0000', id: 'l1', body: 'Pizza or sushi?' }),
];

beforeAll(async () => {
  if (!ready) return;
  srv = await startTestServer();
  await srv.app.directory.addDomain('example.test');
  await srv.addUser(USER, PASS, { quotaMb: 50 });
  const i = await Imap.login(srv, USER, PASS);
  for (const m of [...SEED, japaneseWithAttachment().toString('latin1')]) {
    const r = await i.cmd(`APPEND INBOX {${Buffer.byteLength(m, 'latin1')}+}\r\n${m}`);
    expect(r.at(-1)).toMatch(/ OK /);
  }
  i.close();
  rc = await startRoundcube({ imapPort: srv.port('imap'), smtpPort: srv.port('submission') });
  await mkdir(SHOTS, { recursive: true });
  profile = await mkdtemp(join(tmpdir(), 'chromium-profile-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
    viewport: { width: 1400, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('dialog', (d) => void d.accept());
  page.setDefaultTimeout(15_000);
}, 120_000);

afterEach(async (ctx) => {
  if (ctx.task.result?.state !== 'fail' || !rc) return;
  console.error(`--- Roundcube errors.log ---\n${(await rc.errors()) || '(empty)'}`);
  console.error(`--- Roundcube imap.log (tail) ---\n${(await rc.imapLog()).slice(-6000)}`);
});

afterAll(async () => {
  await context?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
  await rc?.stop();
  await srv?.stop();
});

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

/** Subjects in the message list, top to bottom. */
async function subjects(): Promise<string[]> {
  return page.$$eval('#messagelist tbody tr', (rows) => rows.map((r) => (r.querySelector('td.subject span.subject') as HTMLElement | null)?.innerText.trim() ?? ''));
}

/** Waits for Roundcube's pending requests to finish (its busy indicator). */
async function settled(): Promise<void> {
  await page.waitForFunction(() => {
    const w = window as unknown as { rcmail?: { busy?: boolean; env?: Record<string, unknown> } };
    return !!w.rcmail && !w.rcmail.busy;
  });
}

/** IMAP lines Roundcube sent (C: lines of its imap.log) since `from` characters. */
async function sentSince(from: number): Promise<string[]> {
  const log = (await rc.imapLog()).slice(from);
  return log.split('\n').filter((l) => /\]: C: /.test(l) || /^\[.*\]\[.*\]: C: /.test(l) || / C: /.test(l));
}

async function serverFolder(name: string): Promise<{ count: number; flagged: number }> {
  const mailUser = { domain: 'example.test', localPart: 'carol' };
  const listing = await srv.app.store.listMessages(mailUser, name);
  return { count: listing.messages.length, flagged: listing.messages.filter((m) => m.flags.includes('\\Flagged')).length };
}

describe.skipIf(!ready)('Roundcube 1.6 in Chromium', () => {
  it('logs in with AUTHENTICATE PLAIN and lists the inbox', async () => {
    await page.goto(rc.url);
    await shot('01-login');
    await page.fill('#rcmloginuser', USER);
    await page.fill('#rcmloginpwd', PASS);
    await page.click('#rcmloginsubmit');
    await page.waitForSelector('#messagelist tbody tr');
    await settled();
    await shot('02-inbox');
    expect((await subjects()).length).toBe(5);
    const log = await rc.imapLog();
    // Roundcube authenticates with PLAIN and SASL-IR when offered.
    expect(log).toMatch(/C: \S+ AUTHENTICATE PLAIN \S+/);
  });

  it('sorts by date and by sender on the server (SORT), and shows threads (THREAD REFERENCES)', async () => {
    const mark = (await rc.imapLog()).length;
    await page.evaluate(() => (window as unknown as { rcmail: { command(c: string, p?: unknown): void } }).rcmail.command('sort', 'date'));
    await settled();
    let s = await subjects();
    const byDate = [...s];
    // One direction or the other; the order must be the dates' order.
    const dateOrder = ['Budget review', JP_SUBJECT, 'Project plan', 'Re: Project plan', 'Lunch on Friday'];
    expect([dateOrder, [...dateOrder].reverse()]).toContainEqual(byDate);
    await page.evaluate(() => (window as unknown as { rcmail: { command(c: string, p?: unknown): void } }).rcmail.command('sort', 'from'));
    await settled();
    s = await subjects();
    await shot('03-sorted-by-sender');
    // Senders: Alice Adams, Bob Brown, Mike Middle, Zed Zulu, 山田太郎 (display names).
    const fromOrder = ['Project plan', 'Lunch on Friday', 'Budget review', 'Re: Project plan', JP_SUBJECT];
    expect([fromOrder, [...fromOrder].reverse()]).toContainEqual(s);
    const sent = (await rc.imapLog()).slice(mark);
    expect(sent).toMatch(/C: \S+ UID SORT \(/);

    const mark2 = (await rc.imapLog()).length;
    await page.evaluate(() => (window as unknown as { rcmail: { command(c: string, p?: unknown): void } }).rcmail.command('set-listmode', 'threads'));
    await settled();
    await shot('04-threads');
    expect((await rc.imapLog()).slice(mark2)).toMatch(/C: \S+ UID THREAD REFERENCES /);
    // The reply sits under its parent: four threads for five messages.
    const rows = await page.$$eval('#messagelist tbody tr', (r) => r.map((x) => ({ cls: x.className, visible: (x as HTMLElement).offsetParent !== null })));
    expect(rows.filter((r) => r.visible).length).toBe(4);
    await page.evaluate(() => (window as unknown as { rcmail: { command(c: string, p?: unknown): void } }).rcmail.command('set-listmode', 'list'));
    await settled();
  });

  it('opens the ISO-2022-JP message: decoded subject, sender, body and the attachment', async () => {
    const uid = 5;
    await page.goto(`${rc.url}/?_task=mail&_mbox=INBOX&_uid=${uid}&_action=show`);
    await page.waitForSelector('#messagebody');
    await shot('05-japanese-message');
    const text = await page.innerText('body');
    expect(text).toContain(JP_SUBJECT);
    expect(text).toContain('山田太郎');
    expect(await page.innerText('#messagebody')).toContain('お世話になっております。');
    expect(await page.innerText('#messagebody')).toContain('添付の資料をご確認ください。');
    expect(text).toContain('shiryou.pdf');
  });

  it('creates a folder (after Roundcube probes the hierarchy) and moves, flags, deletes and finds messages', async () => {
    await page.goto(`${rc.url}/?_task=settings&_action=folders`);
    await settled();
    await page.evaluate(() => (window as unknown as { rcmail: { command(c: string): void } }).rcmail.command('create-folder'));
    const frame = page.frameLocator('#preferences-frame');
    await frame.locator('input[name=_name]').fill('Projects');
    await page.evaluate(() => {
      const f = document.querySelector('#preferences-frame') as HTMLIFrameElement;
      (f.contentWindow as unknown as { rcmail: { command(c: string): void } }).rcmail.command('save');
    });
    await expect.poll(async () => (await srv.app.store.listMailboxes({ domain: 'example.test', localPart: 'carol' })).map((m) => m.name), POLL).toContain('Projects');
    await shot('06-folder-created');
    // Roundcube's folder form first probes whether a folder may hold both mail and folders
    // (rcube_imap::detect_dual_use_folders): it creates foldertestNNN and
    // foldertestNNN.foldertest, then deletes both. Both must work, and nothing stays.
    const log = await rc.imapLog();
    const probe = /C: \S+ CREATE "?(foldertest\d+)"?\r?$/m.exec(log)?.[1];
    expect(probe).toBeTruthy();
    for (const name of [`${probe}.foldertest`, probe!]) {
      const create = new RegExp(`C: (\\S+) CREATE "?${name.replace('.', '\\.')}"?\\r?\n[^\\n]*S: \\1 OK`, 'm');
      const del = new RegExp(`C: (\\S+) DELETE "?${name.replace('.', '\\.')}"?\\r?\n[^\\n]*S: \\1 OK`, 'm');
      expect([name, create.test(log), del.test(log)]).toEqual([name, true, true]);
    }
    const names = (await srv.app.store.listMailboxes({ domain: 'example.test', localPart: 'carol' })).map((m) => m.name);
    expect(names.filter((n) => /foldertest/i.test(n))).toEqual([]);

    // Back to the inbox: move "Budget review" to Projects, flag "Lunch on Friday", delete "Project plan".
    await page.goto(`${rc.url}/?_task=mail&_mbox=INBOX`);
    await page.waitForSelector('#messagelist tbody tr');
    await settled();
    const rcm = async (fn: string, arg: unknown, uid: number): Promise<void> => {
      await page.evaluate(
        ([f, a, u]) => {
          const r = (window as unknown as { rcmail: Record<string, (...x: unknown[]) => void> & { message_list: { select(id: unknown): void } } }).rcmail;
          r.message_list.select(String(u));
          r[f as string]!(a);
        },
        [fn, arg, uid] as const,
      );
      await settled();
    };
    await rcm('move_messages', 'Projects', 1);
    await expect.poll(() => serverFolder('Projects'), POLL).toEqual({ count: 1, flagged: 0 });
    await rcm('mark_message', 'flagged', 4);
    await expect.poll(async () => (await serverFolder('INBOX')).flagged, POLL).toBe(1);
    await rcm('delete_messages', undefined, 2);
    // Roundcube deletes with UID MOVE to Trash: the copy lands before the source is expunged,
    // so the store may show the Trash copy while the command is still running.
    await expect.poll(async () => (await serverFolder('Trash')).count, POLL).toBe(1);
    await expect.poll(async () => (await serverFolder('INBOX')).count, POLL).toBe(3);
    await shot('07-after-move-flag-delete');

    // Search the inbox (Roundcube's default scope: subject) for "Lunch": one hit.
    const mark = (await rc.imapLog()).length;
    await page.fill('#mailsearchform', 'Lunch');
    // What the search box's Enter runs (app.js qsearch), called directly.
    await page.evaluate(() => (window as unknown as { rcmail: { qsearch(v: string): void } }).rcmail.qsearch('Lunch'));
    await settled();
    await expect.poll(() => subjects(), POLL).toEqual(['Lunch on Friday']);
    expect((await rc.imapLog()).slice(mark)).toMatch(/C: \S+ UID (SORT|SEARCH|THREAD) /);
    await shot('08-search');
  });

  it('shows the quota from GETQUOTAROOT', async () => {
    await page.goto(`${rc.url}/?_task=mail&_mbox=INBOX`);
    await page.waitForSelector('#messagelist tbody tr');
    await settled();
    await page.waitForSelector('#quotadisplay');
    const q = await page.locator('#quotadisplay').getAttribute('title').catch(() => null);
    const text = (await page.locator('#quotadisplay').innerText()).trim();
    await shot('09-quota');
    expect(`${text} ${q ?? ''}`).toMatch(/\d+\s?%|MB|KB/);
    expect(await rc.imapLog()).toMatch(/C: \S+ GETQUOTAROOT "?INBOX"?/);
  });
});
