// Roundcube's password plugin, httpapi driver: requests shaped exactly as it sends them
// (PHP curl with an array of POST fields → multipart/form-data; Guzzle's form_params in
// Roundcube 1.6 → urlencoded), with password_httpapi_var_user/_curpass/_newpass set to
// user/curpass/newpass and password_httpapi_expect = '/^ok$/i'. Afterwards IMAP LOGIN
// (imapflow, a real client) works with the new password only.
import { randomBytes } from 'node:crypto';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.js';

let srv: TestServer;
let url: string;

beforeAll(async () => {
  srv = await startTestServer();
  url = `http://127.0.0.1:${srv.port('http')}/api/v1/password`;
  await srv.app.directory.addDomain('example.com');
  await srv.addUser('frank@example.com', 'old-password-1');
});
afterAll(async () => {
  await srv?.stop();
});

/** The body PHP's curl builds from CURLOPT_POSTFIELDS given an array. */
function curlMultipart(fields: Record<string, string>): { body: Buffer; type: string } {
  const boundary = `------------------------${randomBytes(8).toString('hex')}`;
  const parts = Object.entries(fields).map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`);
  return { body: Buffer.from(`${parts.join('')}--${boundary}--\r\n`), type: `multipart/form-data; boundary=${boundary}` };
}

async function imapLogin(pass: string): Promise<boolean> {
  const client = new ImapFlow({ host: '127.0.0.1', port: srv.port('imap'), secure: false, auth: { user: 'frank@example.com', pass }, logger: false, doSTARTTLS: false });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.logout();
    return true;
  } catch {
    return false;
  }
}

/** What the driver decides: 2xx and a body matching /^ok$/i is success. */
function driverVerdict(status: number, body: string): 'success' | 'error' | 'connect-error' {
  if (status < 200 || status > 299) return status === 404 || status > 499 ? 'connect-error' : 'error';
  return /^ok$/i.test(body) ? 'success' : 'error';
}

describe("Roundcube's password plugin (httpapi driver)", () => {
  it('refuses a wrong current password, then changes it; IMAP accepts only the new one', async () => {
    const wrong = curlMultipart({ user: 'frank@example.com', curpass: 'not-it', newpass: 'new-password-2' });
    let res = await fetch(url, { method: 'POST', headers: { 'Content-Type': wrong.type }, body: new Uint8Array(wrong.body) });
    expect(driverVerdict(res.status, await res.text())).toBe('error');
    expect(res.status).toBe(403);

    const good = curlMultipart({ user: 'frank@example.com', curpass: 'old-password-1', newpass: 'new-password-2' });
    res = await fetch(url, { method: 'POST', headers: { 'Content-Type': good.type }, body: new Uint8Array(good.body) });
    expect(driverVerdict(res.status, await res.text())).toBe('success');

    expect(await imapLogin('new-password-2')).toBe(true);
    expect(await imapLogin('old-password-1')).toBe(false);
  });

  it('takes the urlencoded form of Roundcube 1.6 (Guzzle form_params) too', async () => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ user: 'frank@example.com', curpass: 'new-password-2', newpass: 'third pässword 3' }).toString(),
    });
    expect(driverVerdict(res.status, await res.text())).toBe('success');
    expect(await srv.app.directory.authenticate('frank@example.com', 'third pässword 3')).not.toBeNull();
    // A new password the directory would refuse leaves the old one in place.
    const bad = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ user: 'frank@example.com', curpass: 'third pässword 3', newpass: 'line\nbreak' }).toString(),
    });
    expect(bad.status).toBe(400);
    expect(await srv.app.directory.authenticate('frank@example.com', 'third pässword 3')).not.toBeNull();
    expect(srv.logs.some((l) => JSON.stringify(l).includes('third p'))).toBe(false);
  });
});
