// DKIM keys and the outbound queue through the admin API: a message submitted by a real
// client (nodemailer over submission) for a remote recipient waits in the queue (no smart
// host configured), and is listed, retried and deleted over HTTP.
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.js';
import { parsePrometheus, sampleValue } from './prom-parse.js';

const TOKEN = 'admin-token-outbound-0123456789';
let srv: TestServer;
let base: string;

beforeAll(async () => {
  srv = await startTestServer({ http: { adminTokens: [TOKEN] } });
  base = `http://127.0.0.1:${srv.port('http')}`;
  await srv.app.directory.addDomain('example.com');
  await srv.addUser('gina@example.com', 'gina-password');
});
afterAll(async () => {
  await srv?.stop();
});

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : {} };
}

describe('DKIM keys over the admin API', () => {
  it('generates keys, lists them, and puts the signing key into the DNS records', async () => {
    expect((await api('GET', '/api/v1/domains/example.com/dkim')).json).toEqual({ keys: [] });
    const made = await api('POST', '/api/v1/domains/example.com/dkim', { type: 'ed25519', selector: 'ed2026' });
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({ selector: 'ed2026', type: 'ed25519', name: 'ed2026._domainkey.example.com.' });
    expect(made.json.txt).toMatch(/^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
    const keys = (await api('GET', '/api/v1/domains/example.com/dkim')).json.keys;
    expect(keys).toEqual([{ selector: 'ed2026', type: 'ed25519', active: true, txt: made.json.txt }]);
    const dns = (await api('GET', '/api/v1/domains/example.com/dns')).json.records;
    expect(dns.find((r: Json) => r.name === 'ed2026._domainkey.example.com.')?.value).toBe(made.json.txt);
  });

  it('refuses a duplicate selector, a path-escaping selector, unknown fields and unknown domains', async () => {
    expect((await api('POST', '/api/v1/domains/example.com/dkim', { type: 'ed25519', selector: 'ed2026' })).status).toBe(409);
    expect((await api('POST', '/api/v1/domains/example.com/dkim', { selector: '../../etc' })).status).toBe(400);
    expect((await api('POST', '/api/v1/domains/example.com/dkim', { type: 'dsa' })).status).toBe(400);
    expect((await api('POST', '/api/v1/domains/example.com/dkim', { bits: 4096 })).status).toBe(400);
    expect((await api('POST', '/api/v1/domains/nowhere.example/dkim', {})).status).toBe(404);
    expect((await api('GET', '/api/v1/domains/example.com/dkim')).json.keys).toHaveLength(1);
  });
});

describe('outbound queue over the admin API', () => {
  it('lists, retries and deletes a message waiting for the smart host', async () => {
    expect((await api('GET', '/api/v1/queue')).json).toEqual({ messages: [] });
    const t = nodemailer.createTransport({
      host: '127.0.0.1',
      port: srv.port('submission'),
      requireTLS: true,
      auth: { user: 'gina@example.com', pass: 'gina-password' },
      tls: { rejectUnauthorized: false },
    });
    await t.sendMail({ from: 'gina@example.com', to: 'friend@remote.example', subject: 'queued', text: 'waits for the smart host' });
    t.close();

    const list = (await api('GET', '/api/v1/queue')).json.messages as Json[];
    expect(list).toHaveLength(1);
    const msg = list[0]!;
    expect(msg).toMatchObject({ mailFrom: 'gina@example.com', user: 'gina@example.com' });
    expect(msg.recipients).toEqual([expect.objectContaining({ address: 'friend@remote.example' })]);
    expect(['queued', 'deferred']).toContain(msg.recipients[0].status);
    expect((await api('GET', `/api/v1/queue/${msg.id}`)).json.id).toBe(msg.id);
    const queued = parsePrometheus(await (await fetch(`${base}/metrics`)).text());
    expect(sampleValue(queued, 'mailserver_queue_size')).toBe(1);
    expect(sampleValue(queued, 'mailserver_queue_oldest_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(sampleValue(queued, 'mailserver_queue_oldest_age_seconds')).toBeLessThan(60);

    expect((await api('POST', `/api/v1/queue/${msg.id}/retry`)).json).toEqual({ retried: 1 });
    expect((await api('POST', '/api/v1/queue/retry')).json).toEqual({ retried: 1 });
    expect((await api('GET', '/api/v1/queue/not-an-id')).status).toBe(404);
    expect((await api('DELETE', '/api/v1/queue/..%2F..%2Fdirectory.sqlite')).status).toBe(404);

    expect((await api('DELETE', `/api/v1/queue/${msg.id}`)).status).toBe(204);
    expect((await api('GET', '/api/v1/queue')).json).toEqual({ messages: [] });
    expect((await api('GET', `/api/v1/queue/${msg.id}`)).status).toBe(404);
    expect(sampleValue(parsePrometheus(await (await fetch(`${base}/metrics`)).text()), 'mailserver_queue_size')).toBe(0);
  });
});
