// The admin web UI in headless Chromium (Debian's, driven by playwright-core): sign in,
// create a domain, a user and an alias, read and copy the DNS records, change a quota,
// delete the alias, sign out; a form post without the CSRF token is refused. Screenshots
// are kept under test-artifacts/http-ui/.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.js';
import { requirePeer } from '../helpers/peers.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(process.cwd(), 'test-artifacts', 'http-ui');
const haveChromium = requirePeer(CHROMIUM, 'admin web UI in Chromium');

let srv: TestServer;
let base: string;
let profile: string;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  if (!haveChromium) return;
  srv = await startTestServer({ http: { admins: ['root@admin.example'] } });
  base = `http://127.0.0.1:${srv.port('http')}`;
  await srv.app.directory.addDomain('admin.example');
  await srv.addUser('root@admin.example', 'root-password');
  await mkdir(SHOTS, { recursive: true });
  profile = await mkdtemp(join(tmpdir(), 'chromium-profile-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
    viewport: { width: 1200, height: 900 },
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  page = context.pages()[0] ?? (await context.newPage());
  // The delete buttons ask for confirmation; the administrator says yes.
  page.on('dialog', (d) => void d.accept());
  page.setDefaultTimeout(10_000);
}, 120_000);

afterAll(async () => {
  await context?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
  await srv?.stop();
});

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
const flash = () => page.locator('.flash').innerText();

describe.skipIf(!haveChromium)('admin web UI in Chromium', () => {
  it('walks through sign-in, domain, user, alias, DNS records, quota, alias removal and sign-out', async () => {
    await page.goto(`${base}/admin`);
    expect(new URL(page.url()).pathname).toBe('/admin/login');
    await shot('01-login');

    // A wrong password first: refused, still on the sign-in page.
    await page.fill('input[name=user]', 'root@admin.example');
    await page.fill('input[name=password]', 'not-the-password');
    await page.click('#login button[type=submit]');
    expect(await flash()).toMatch(/Wrong address or password/);

    await page.fill('input[name=user]', 'root@admin.example');
    await page.fill('input[name=password]', 'root-password');
    await page.click('#login button[type=submit]');
    await page.waitForURL(`${base}/admin/domains`);
    const cookies = await context.cookies(base);
    expect(cookies).toEqual([expect.objectContaining({ name: '__Host-mailadmin', httpOnly: true, secure: true, sameSite: 'Strict' })]);

    await page.fill('#add-domain input[name=name]', 'shop.example');
    await page.click('#add-domain button');
    await page.waitForURL(`${base}/admin/domains/shop.example`);
    expect(await flash()).toBe('Added shop.example.');

    await page.fill('#add-user input[name=localPart]', 'anna');
    await page.fill('#add-user input[name=password]', 'anna-password-1');
    await page.fill('#add-user input[name=quotaMb]', '50');
    await page.click('#add-user button');
    expect(await flash()).toBe('Added anna@shop.example.');
    expect(await page.locator('#users').innerText()).toMatch(/anna@shop\.example\s+active\s+0\.0 MB of 50 MB \(0%\)/);

    await page.fill('#add-alias input[name=localPart]', 'sales');
    await page.fill('#add-alias input[name=destinations]', 'anna@shop.example, partner@elsewhere.example');
    await page.click('#add-alias button');
    expect(await flash()).toMatch(/^Alias sales@shop\.example now delivers to anna@shop\.example, partner@elsewhere\.example\.$/);
    expect(await srv.app.directory.listAliases('shop.example')).toEqual([
      { source: 'sales@shop.example', destinations: ['anna@shop.example', 'partner@elsewhere.example'] },
    ]);

    // DNS records, each with a working copy button.
    const dns = await page.locator('#dns').innerText();
    expect(dns).toContain('shop.example. 3600 IN MX 10 mx.test.example.');
    expect(dns).toContain('shop.example. 3600 IN TXT "v=spf1 include:sendgrid.net ~all"');
    expect(dns).toContain('_dmarc.shop.example. 3600 IN TXT "v=DMARC1; p=quarantine; rua=mailto:postmaster@shop.example"');
    // A DKIM key: generated here, its record joins the list.
    await page.selectOption('#add-dkim select[name=type]', 'ed25519');
    await page.click('#add-dkim button');
    expect(await flash()).toMatch(/^Generated the ed25519 DKIM key ed\d{6}\./);
    expect(await page.locator('#dns').innerText()).toMatch(/ed\d{6}\._domainkey\.shop\.example\. 3600 IN TXT "v=DKIM1; k=ed25519; p=/);
    await page.click('button[data-copy=rec-1]');
    await expect.poll(() => page.locator('button[data-copy=rec-1]').innerText()).toBe('Copied');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('shop.example. 3600 IN TXT "v=spf1 include:sendgrid.net ~all"');
    await shot('02-domain');

    // Quota: on the user's page.
    await page.click('#users a:text("anna@shop.example")');
    await page.waitForURL(`${base}/admin/users/anna%40shop.example`);
    await page.fill('#set-quota input[name=quotaMb]', '75');
    await page.click('#set-quota button');
    expect(await flash()).toBe('Quota set to 75 MB.');
    expect((await srv.app.directory.getUser('anna@shop.example'))?.quotaMb).toBe(75);
    await shot('03-user');

    // Delete one destination of the alias, then the other.
    await page.goto(`${base}/admin/domains/shop.example`);
    await page.click('button[aria-label="Remove sales@shop.example to partner@elsewhere.example"]');
    expect(await flash()).toBe('Removed sales@shop.example → partner@elsewhere.example.');
    await page.click('button[aria-label="Remove sales@shop.example to anna@shop.example"]');
    expect(await flash()).toBe('Removed sales@shop.example → anna@shop.example.');
    expect(await srv.app.directory.listAliases('shop.example')).toEqual([]);
    await shot('04-alias-removed');

    // A refusal from the directory comes back as a message on the page.
    await page.fill('#add-user input[name=localPart]', 'anna');
    await page.fill('#add-user input[name=password]', 'x');
    await page.click('#add-user button');
    expect(await flash()).toBe('user anna@shop.example already exists');

    await page.click('a[href="/admin/queue"]');
    expect(await page.locator('#queue-empty').innerText()).toMatch(/The queue is empty/);

    await page.click('#sign-out');
    await page.waitForURL(`${base}/admin/login`);
    await page.goto(`${base}/admin/domains`);
    expect(new URL(page.url()).pathname).toBe('/admin/login');
    await shot('05-signed-out');
  });

  it('refuses a form post without the CSRF token, or with a wrong one, and changes nothing', async () => {
    await page.goto(`${base}/admin/login`);
    if (new URL(page.url()).pathname === '/admin/login') {
      await page.fill('input[name=user]', 'root@admin.example');
      await page.fill('input[name=password]', 'root-password');
      await page.click('#login button[type=submit]');
      await page.waitForURL(`${base}/admin/domains`);
    }
    // The browser context's own request client sends the session cookie, like a forged form would.
    const none = await context.request.post(`${base}/admin/domains`, { form: { name: 'evil.example' }, maxRedirects: 0 });
    expect(none.status()).toBe(403);
    expect(await none.text()).toContain('did not come from this site');
    const wrong = await context.request.post(`${base}/admin/domains`, { form: { name: 'evil.example', _csrf: 'guess' }, maxRedirects: 0 });
    expect(wrong.status()).toBe(403);
    const foreign = await context.request.post(`${base}/admin/domains`, {
      form: { name: 'evil.example', _csrf: await page.locator('#add-domain input[name=_csrf]').inputValue() },
      headers: { Origin: 'https://attacker.example' },
      maxRedirects: 0,
    });
    expect(foreign.status()).toBe(403);
    expect(await srv.app.directory.getDomain('evil.example')).toBeNull();
    // The real form still works.
    await page.fill('#add-domain input[name=name]', 'fine.example');
    await page.click('#add-domain button');
    expect(await flash()).toBe('Added fine.example.');
  });
});
