// Web UI sign-in throttling (the shared AuthThrottle) and session expiry, over plain HTTP.
import { describe, expect, it, afterAll, beforeAll } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.js';
import { SessionStore } from '../../src/http/ui/sessions.js';

let srv: TestServer;
let base: string;

beforeAll(async () => {
  srv = await startTestServer({
    http: { admins: ['root@admin.example'], adminTokens: ['ui-token-0123456789'] },
    auth: { maxFailuresPerIp: 3, maxFailuresPerUser: 3, failureDelayMs: 1, maxFailureDelayMs: 5 },
  });
  base = `http://127.0.0.1:${srv.port('http')}`;
  await srv.app.directory.addDomain('admin.example');
  await srv.addUser('root@admin.example', 'root-password');
  await srv.addUser('plain@admin.example', 'plain-password');
});
afterAll(async () => {
  await srv?.stop();
});

/** A browser-like sign-in: fetch the form (cookie + CSRF token), post it back. */
async function signIn(user: string, password: string, headers: Record<string, string> = {}, at = base): Promise<{ status: number; location: string | null; cookie: string | null }> {
  const form = await fetch(`${at}/admin/login`, { headers });
  const cookie = form.headers.get('set-cookie')!.split(';')[0]!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
  const res = await fetch(`${at}/admin/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { ...headers, Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, user, password }).toString(),
  });
  return { status: res.status, location: res.headers.get('location'), cookie: res.headers.get('set-cookie') };
}

describe('web UI sign-in', () => {
  it('signs in with an admin token, refuses non-admins, and throttles repeated failures', async () => {
    const token = await signIn('', 'ui-token-0123456789');
    expect(token).toMatchObject({ status: 303, location: '/admin/domains' });
    // A fresh session id at sign-in, with the cookie flags a browser needs to protect it.
    expect(token.cookie).toMatch(/^__Host-mailadmin=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Secure$/);

    // A mailbox user who is not in http.admins: right password, still refused.
    expect(await signIn('plain@admin.example', 'plain-password')).toMatchObject({ status: 303, location: '/admin/login', cookie: null });

    for (let i = 0; i < 3; i++) expect(await signIn('root@admin.example', `wrong-${i}`)).toMatchObject({ status: 303, location: '/admin/login' });
    // Past the limit even the right password is refused until the window passes.
    const locked = await signIn('root@admin.example', 'root-password');
    expect(locked.status).toBe(429);
    expect(srv.logs.some((l) => l.msg === 'login throttled' && l.svc === 'http')).toBe(true);
  });
});

describe('behind a trusted reverse proxy', () => {
  it('throttles the client named in X-Forwarded-For, not the proxy', async () => {
    const px = await startTestServer({
      http: { admins: ['root@admin.example'], trustedProxies: ['127.0.0.1/32'] },
      auth: { maxFailuresPerIp: 2, maxFailuresPerUser: 100, failureDelayMs: 1, maxFailureDelayMs: 5 },
    });
    try {
      const at = `http://127.0.0.1:${px.port('http')}`;
      await px.app.directory.addDomain('admin.example');
      await px.addUser('root@admin.example', 'root-password');
      // The guesser's own X-Forwarded-For entry is ignored: the proxy appended the real address.
      const guesser = { 'X-Forwarded-For': '10.9.9.9, 203.0.113.5' };
      for (let i = 0; i < 2; i++) expect((await signIn('root@admin.example', `wrong-${i}`, guesser, at)).status).toBe(303);
      expect((await signIn('root@admin.example', 'root-password', guesser, at)).status).toBe(429);
      // Another client through the same proxy is not locked out.
      expect(await signIn('root@admin.example', 'root-password', { 'X-Forwarded-For': '203.0.113.6' }, at)).toMatchObject({ status: 303, location: '/admin/domains' });
      expect(px.logs.some((l) => l.msg === 'login failed' && l.remote === '203.0.113.5')).toBe(true);
    } finally {
      await px.stop();
    }
  });
});

describe('SessionStore', () => {
  it('expires a session after the idle time, and a request keeps it alive', () => {
    let now = 1_000_000;
    const store = new SessionStore(60_000, () => now);
    const s = store.create('root@admin.example');
    now += 59_000;
    expect(store.get(s.id)?.user).toBe('root@admin.example');
    now += 59_000; // 118 s after creation, 59 s after the last request
    expect(store.get(s.id)).not.toBeNull();
    now += 60_001;
    expect(store.get(s.id)).toBeNull();
    expect(store.get(s.id)).toBeNull();
    store.close();
  });
});
