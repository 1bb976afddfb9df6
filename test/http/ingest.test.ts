// The ingest endpoint, driven by the example Cloudflare Email Worker itself (run under
// Node with a message shaped like Email Routing's), plus raw HTTP for the cases a Worker
// cannot produce (a client vanishing mid-body, a lying Content-Length).
import http from 'node:http';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.js';
import { inboxCount, rawMessage, runWorker } from './worker-harness.js';

const TOKENS = ['token-old-0123456789', 'token-new-9876543210'];
const MAX = 2 * 1024 * 1024;

let srv: TestServer;
let base: string;
const env = () => ({ INGEST_URL: `${base}/ingest`, INGEST_TOKEN: TOKENS[1]! });

beforeAll(async () => {
  srv = await startTestServer({ http: { ingestTokens: TOKENS }, delivery: { maxMessageBytes: MAX } });
  base = `http://127.0.0.1:${srv.port('http')}`;
  await srv.app.directory.addDomain('example.com');
  await srv.addUser('alice@example.com', 'alice-password');
  await srv.addUser('bob@example.com', 'bob-password', { quotaMb: 1 });
});
afterAll(async () => {
  await srv?.stop();
});

function waitForLog(pred: (l: Record<string, unknown>) => boolean, ms = 10_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      const hit = srv.logs.find(pred);
      if (hit) return resolve(hit);
      if (Date.now() > deadline) return reject(new Error('log line not seen'));
      setTimeout(tick, 20);
    };
    tick();
  });
}

describe('ingest endpoint driven by the Cloudflare Email Worker', () => {
  it('delivers an accepted message intact, with a Received line naming HTTP', async () => {
    const raw = rawMessage({ to: 'alice@example.com', subject: 'accepted one', bodyBytes: 300 * 1024 });
    const before = await inboxCount(srv.mailRoot, 'alice@example.com');
    const run = await runWorker(env(), { from: 'sender@example.org', to: 'alice@example.com', raw });
    expect(run).toEqual({ rejected: null, thrown: null });
    expect(await inboxCount(srv.mailRoot, 'alice@example.com')).toBe(before + 1);
    const dir = join(srv.mailRoot, 'example.com', 'alice', 'new');
    const files = await readdir(dir);
    const stored = await readFile(join(dir, files[0]!));
    // The store keeps Maildir files with LF line ends, as Dovecot does.
    const text = stored.toString('utf8');
    const head = text.slice(0, 300);
    expect(head).toMatch(/^Return-Path: <sender@example.org>\nDelivered-To: alice@example.com\n/);
    expect(head).toMatch(/with HTTP id /);
    // The original message follows the trace headers byte for byte (line ends aside).
    expect(text.endsWith(raw.toString('utf8').replace(/\r\n/g, '\n'))).toBe(true);
  });

  it('rejects an unknown recipient for good (the sender gets a bounce)', async () => {
    const run = await runWorker(env(), { from: 'sender@example.org', to: 'nobody@example.com', raw: rawMessage({ to: 'nobody@example.com' }) });
    expect(run.thrown).toBeNull();
    expect(run.rejected).toMatch(/^550 5\.1\.1 <nobody@example\.com>/);
  });

  it('rejects a message that does not fit the quota', async () => {
    const raw = rawMessage({ to: 'bob@example.com', bodyBytes: 1200 * 1024 });
    const run = await runWorker(env(), { from: 'sender@example.org', to: 'bob@example.com', raw });
    expect(run.rejected).toMatch(/^552 5\.2\.2 /);
    expect(await inboxCount(srv.mailRoot, 'bob@example.com')).toBe(0);
  });

  it('rejects a message over the size limit, streamed chunked (no Content-Length)', async () => {
    const raw = rawMessage({ to: 'alice@example.com', bodyBytes: MAX + 1024 });
    const before = await inboxCount(srv.mailRoot, 'alice@example.com');
    const run = await runWorker(env(), { from: 'sender@example.org', to: 'alice@example.com', raw });
    expect(run.rejected).toMatch(/^552 5\.3\.4 Message size exceeds fixed limit/);
    expect(await inboxCount(srv.mailRoot, 'alice@example.com')).toBe(before);
  });

  it('refuses a declared oversized body before reading it', async () => {
    const res = await rawPost('/ingest?from=a%40example.org&to=alice%40example.com', { Authorization: `Bearer ${TOKENS[0]}`, 'Content-Length': String(MAX + 1) }, Buffer.alloc(0), false);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).results[0]).toMatchObject({ status: 'rejected', code: 552, enhanced: '5.3.4' });
  });

  it('treats a bad token as our set-up error: the Worker throws so the sender retries', async () => {
    const run = await runWorker({ ...env(), INGEST_TOKEN: 'token-wrong' }, { from: 's@example.org', to: 'alice@example.com', raw: rawMessage() });
    expect(run.rejected).toBeNull();
    expect(run.thrown?.message).toMatch(/^ingest answered 401: invalid bearer token/);
  });

  it('answers 401 with a Bearer challenge when the token is missing; the old token still works', async () => {
    const missing = await fetch(`${base}/ingest?from=s%40example.org&to=alice%40example.com`, { method: 'POST', body: new Uint8Array(rawMessage()) });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(await missing.json()).toEqual({ error: { code: 'unauthorized', message: 'missing bearer token' } });
    const old = await runWorker({ ...env(), INGEST_TOKEN: TOKENS[0]! }, { from: 's@example.org', to: 'alice@example.com', raw: rawMessage() });
    expect(old).toEqual({ rejected: null, thrown: null });
    expect(srv.logs.some((l) => JSON.stringify(l).includes(TOKENS[0]!))).toBe(false);
  });

  it('delivers a retried POST with the same Idempotency-Key once', async () => {
    const raw = rawMessage({ to: 'alice@example.com', id: 'retry-once@example.org' });
    const before = await inboxCount(srv.mailRoot, 'alice@example.com');
    const first = await runWorker(env(), { from: 's@example.org', to: 'alice@example.com', raw });
    const second = await runWorker(env(), { from: 's@example.org', to: 'alice@example.com', raw });
    expect(first).toEqual({ rejected: null, thrown: null });
    expect(second).toEqual({ rejected: null, thrown: null });
    expect(await inboxCount(srv.mailRoot, 'alice@example.com')).toBe(before + 1);
    // The replay says so, and the same key with another envelope is refused.
    const replay = await rawPost('/ingest?from=s%40example.org&to=alice%40example.com', { Authorization: `Bearer ${TOKENS[0]}`, 'Idempotency-Key': 'k-1' }, raw);
    expect(replay.status).toBe(200);
    const again = await rawPost('/ingest?from=s%40example.org&to=alice%40example.com', { Authorization: `Bearer ${TOKENS[0]}`, 'Idempotency-Key': 'k-1' }, raw);
    expect(again.headers['idempotent-replayed']).toBe('true');
    const other = await rawPost('/ingest?from=s%40example.org&to=bob%40example.com', { Authorization: `Bearer ${TOKENS[0]}`, 'Idempotency-Key': 'k-1' }, raw);
    expect(other.status).toBe(422);
    expect(await inboxCount(srv.mailRoot, 'alice@example.com')).toBe(before + 2);
  });

  it('answers a storage failure with 503 (the Worker throws, the sender retries); the retry with the same key delivers once', async () => {
    await srv.addUser('hank@example.com', 'hank-password');
    const home = join(srv.mailRoot, 'example.com', 'hank');
    // A file where the Maildir should be: the store cannot deliver (451 4.3.0).
    await rm(home, { recursive: true, force: true });
    await writeFile(home, 'not a directory');
    const raw = rawMessage({ to: 'hank@example.com', id: 'storage-failure@example.org' });
    const run = await runWorker(env(), { from: 's@example.org', to: 'hank@example.com', raw });
    expect(run.rejected).toBeNull();
    expect(run.thrown?.message).toMatch(/^ingest answered 503: 451 /);
    expect(srv.logs.some((l) => l.msg === 'recipient check failed' && l.level === 'error')).toBe(true);

    await rm(home, { force: true });
    const retry = await runWorker(env(), { from: 's@example.org', to: 'hank@example.com', raw });
    expect(retry).toEqual({ rejected: null, thrown: null });
    const again = await runWorker(env(), { from: 's@example.org', to: 'hank@example.com', raw });
    expect(again).toEqual({ rejected: null, thrown: null });
    expect(await inboxCount(srv.mailRoot, 'hank@example.com')).toBe(1);
  });

  it('delivers nothing when the client disconnects mid-body (Content-Length and chunked)', async () => {
    const before = await inboxCount(srv.mailRoot, 'alice@example.com');
    const raw = rawMessage({ to: 'alice@example.com', bodyBytes: 400 * 1024 });
    for (const chunked of [false, true]) {
      const marker = srv.logs.length;
      await new Promise<void>((resolve) => {
        const req = http.request(`${base}/ingest?from=s%40example.org&to=alice%40example.com`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${TOKENS[0]}`, ...(chunked ? {} : { 'Content-Length': String(raw.length) }) },
        });
        req.on('error', () => resolve());
        req.write(raw.subarray(0, 200 * 1024), () => setTimeout(() => {
          req.destroy();
          resolve();
        }, 100));
      });
      await waitForLog((l) => srv.logs.indexOf(l) >= marker && /ingest body (aborted|incomplete)/.test(String(l.msg)));
    }
    expect(await inboxCount(srv.mailRoot, 'alice@example.com')).toBe(before);
    // Nothing left in the spool either.
    const spool = await readdir(join(srv.dataDir, 'spool', 'incoming')).catch(() => []);
    expect(spool).toEqual([]);
  });

  it('answers bad envelopes with 400 and reads no mail', async () => {
    const auth = { Authorization: `Bearer ${TOKENS[0]}` };
    expect((await rawPost('/ingest?to=alice%40example.com', auth, rawMessage())).status).toBe(400);
    expect((await rawPost('/ingest?from=', auth, rawMessage())).status).toBe(400);
    expect((await rawPost('/ingest?from=&to=a%0d%0ab%40example.com', auth, rawMessage())).status).toBe(400);
    expect((await rawPost('/ingest?from=&to=alice%40example.com', { ...auth, 'Idempotency-Key': 'x'.repeat(300) }, rawMessage())).status).toBe(400);
    const get = await fetch(`${base}/ingest`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });
});

async function rawPost(
  path: string,
  headers: Record<string, string>,
  body: Buffer,
  sendBody = true,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method: 'POST', headers: { 'Content-Type': 'message/rfc822', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    if (sendBody) req.end(body);
    else req.flushHeaders();
  });
}
