// Bad input on the HTTP listener: malformed request lines, oversized headers, random bytes,
// bodies of the wrong kind. Each gets a standard status and a log line; the daemon keeps
// serving and logs no error.
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.js';

let srv: TestServer;
let port: number;

beforeAll(async () => {
  srv = await startTestServer({ http: { adminTokens: ['bad-input-admin-token'], ingestTokens: ['bad-input-ingest-token'] } });
  port = srv.port('http');
});
afterAll(async () => {
  await srv?.stop();
});

/** Sends bytes, returns everything the server wrote until it closed (or 5 s passed). */
function exchange(data: Buffer | string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => s.write(data));
    let out = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (out += d));
    s.on('error', () => undefined);
    const timer = setTimeout(() => s.destroy(), 5000);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

describe('HTTP bad input', () => {
  it('answers malformed requests with 400 and oversized headers with 431', async () => {
    expect(await exchange('GARBAGE\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(await exchange('GET / HTTP/9.9\r\n\r\n')).toMatch(/^HTTP\/1\.1 (400|505)/);
    expect(await exchange(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431 /);
    expect(await exchange('POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(srv.logs.some((l) => l.msg === 'bad http request')).toBe(true);
  });

  it('survives random bytes on 100 connections and still serves, with no error logged', async () => {
    for (let i = 0; i < 100; i++) {
      const junk = randomBytes(1 + (i * 37) % 3000);
      // Half of them start like a real request, so the parser gets past the request line.
      await exchange(i % 2 ? Buffer.concat([Buffer.from('POST /api/v1/users HTTP/1.1\r\nHost: x\r\n'), junk]) : junk);
    }
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(res.status).toBe(200);
    expect(srv.logs.filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
  });

  it('answers wrong bodies on the API with clear JSON errors', async () => {
    const auth = { Authorization: 'Bearer bad-input-admin-token' };
    const post = (body: string, type = 'application/json') =>
      fetch(`http://127.0.0.1:${port}/api/v1/domains`, { method: 'POST', headers: { ...auth, 'Content-Type': type }, body });
    for (const [body, code] of [
      ['', 'malformed-json'],
      ['null', 'invalid'],
      ['[]', 'invalid'],
      ['"example.com"', 'invalid'],
      ['{"name": 5}', 'invalid'],
      ['{"__proto__": {"x": 1}, "name": "a.example"}', 'invalid'],
      ['\u0000\u0001', 'malformed-json'],
    ] as const) {
      const res = await post(body);
      expect({ body, status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code }).toEqual({ body, status: 400, code });
    }
    expect((await srv.app.directory.listDomains()).map((d) => d.name)).toEqual([]);
  });
});
