// /healthz, /readyz and /metrics on the real daemon: the exposition parses strictly, and
// the counters move when mail flows through LMTP and the ingest endpoint.
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.js';
import { parsePrometheus, sampleValue } from './prom-parse.js';
import { rawMessage } from './worker-harness.js';

let srv: TestServer;
let base: string;

beforeAll(async () => {
  srv = await startTestServer({ http: { ingestTokens: ['ingest-token-abcdef'] } });
  base = `http://127.0.0.1:${srv.port('http')}`;
  await srv.app.directory.addDomain('example.com');
  await srv.addUser('carol@example.com', 'carol-password');
});
afterAll(async () => {
  await srv?.stop();
});

async function scrape() {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await res.text());
}

describe('health and metrics', () => {
  it('answers /healthz', async () => {
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('exposes every named metric family in a strictly valid exposition', async () => {
    const f = await scrape();
    for (const [name, type] of [
      ['mailserver_connections_total', 'counter'],
      ['mailserver_commands_total', 'counter'],
      ['mailserver_auth_failures_total', 'counter'],
      ['mailserver_deliveries_total', 'counter'],
      ['mailserver_imap_command_seconds', 'histogram'],
      ['mailserver_scan_results_total', 'counter'],
      ['mailserver_scan_seconds', 'histogram'],
      ['mailserver_queue_size', 'gauge'],
      ['mailserver_queue_oldest_age_seconds', 'gauge'],
      ['mailserver_http_requests_total', 'counter'],
    ] as const) {
      expect(f.get(name)?.type, name).toBe(type);
    }
  });

  it('moves the counters when mail flows through LMTP and ingest', async () => {
    const before = await scrape();
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: srv.lmtpPort, lmtp: true, ignoreTLS: true });
    const info = await transport.sendMail({
      envelope: { from: 'x@example.org', to: ['carol@example.com', 'ghost@example.com'] },
      raw: rawMessage({ to: 'carol@example.com' }),
    });
    transport.close();
    expect(info.accepted).toEqual(['carol@example.com']);
    const res = await fetch(`${base}/ingest?from=x%40example.org&to=carol%40example.com`, {
      method: 'POST',
      headers: { Authorization: 'Bearer ingest-token-abcdef' },
      body: new Uint8Array(rawMessage()),
    });
    expect(res.status).toBe(200);
    const bad = await fetch(`${base}/ingest?from=&to=carol%40example.com`, { method: 'POST', headers: { Authorization: 'Bearer nope' }, body: 'x' });
    expect(bad.status).toBe(401);

    const after = await scrape();
    const delta = (family: string, labels: Record<string, string>) => sampleValue(after, family, labels) - sampleValue(before, family, labels);
    expect(delta('mailserver_deliveries_total', { result: 'delivered' })).toBe(2);
    expect(delta('mailserver_deliveries_total', { result: 'rejected' })).toBe(1);
    expect(delta('mailserver_connections_total', { protocol: 'lmtp' })).toBe(1);
    expect(delta('mailserver_auth_failures_total', { protocol: 'http' })).toBe(1);
    expect(delta('mailserver_http_requests_total', { route: '/ingest', status: '200' })).toBe(1);
  });

  it('is ready with every listener up, and unready (503, naming the check) when one stops', async () => {
    const ready = await fetch(`${base}/readyz`);
    const body = (await ready.json()) as { status: string; checks: Array<{ name: string; ok: boolean; error?: string }> };
    expect(ready.status).toBe(200);
    expect(body.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['listeners', 'store', 'directory']));
    await srv.app.services.find((s) => s.name === 'lmtp')!.stop();
    const unready = await fetch(`${base}/readyz`);
    expect(unready.status).toBe(503);
    const ub = (await unready.json()) as typeof body;
    expect(ub.checks.find((c) => c.name === 'listeners')).toMatchObject({ ok: false, error: 'not listening: lmtp' });
  });
});
