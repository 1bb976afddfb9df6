// Stopping the daemon while an ingest POST is still uploading: the listener stops taking
// new connections, the running request finishes and its message is delivered, then the
// store closes.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.js';
import { inboxCount, rawMessage } from './worker-harness.js';

let srv: TestServer;

beforeAll(async () => {
  srv = await startTestServer({ http: { ingestTokens: ['stop-token-0123456789'] } });
  await srv.app.directory.addDomain('example.com');
  await srv.addUser('ivy@example.com', 'ivy-password');
});
afterAll(async () => {
  await srv?.stop().catch(() => undefined);
});

describe('graceful stop', () => {
  it('lets an ingest upload in progress finish and deliver', async () => {
    const port = srv.port('http');
    const raw = rawMessage({ to: 'ivy@example.com', bodyBytes: 200 * 1024 });
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, path: '/ingest?from=s%40example.org&to=ivy%40example.com', method: 'POST', headers: { Authorization: 'Bearer stop-token-0123456789', 'Content-Length': raw.length } },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        },
      );
      req.on('error', reject);
      req.write(raw.subarray(0, 1000));
      // The rest arrives after the stop has begun.
      setTimeout(() => req.end(raw.subarray(1000)), 300);
    });
    await new Promise((r) => setTimeout(r, 100));
    const stopped = srv.app.stop();
    const { status, body } = await answer;
    await stopped;
    expect(status).toBe(200);
    expect(JSON.parse(body).results[0]).toMatchObject({ status: 'accepted', code: 250 });
    expect(await inboxCount(srv.mailRoot, 'ivy@example.com')).toBe(1);
    // And nothing listens any more.
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });
});
