// Listener options: HTTPS with the daemon's certificates, and the CIDR allowlist.
import https from 'node:https';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { startTestServer } from '../helpers/app.js';

describe('HTTP listener options', () => {
  it('serves HTTPS with the tls certificates when http.tls is on', async () => {
    const srv = await startTestServer({ http: { tls: true } });
    try {
      const { status, body, cert } = await new Promise<{ status: number; body: string; cert: string }>((resolve, reject) => {
        https
          .get({ host: '127.0.0.1', port: srv.port('http'), path: '/healthz', rejectUnauthorized: false, agent: false }, (res) => {
            const cert = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().subject?.CN?.toString() ?? '';
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => resolve({ status: res.statusCode!, body, cert }));
          })
          .on('error', reject);
      });
      expect(status).toBe(200);
      expect(JSON.parse(body)).toEqual({ status: 'ok' });
      expect(cert).toBe('mx.test.example');
    } finally {
      await srv.stop();
    }
  });

  it('closes connections from outside http.allow before reading a request', async () => {
    const srv = await startTestServer({ http: { allow: ['10.0.0.0/8'] } });
    try {
      // A raw socket: undici's fetch keeps reconnecting to a peer that hangs up at once.
      const got = await new Promise<string>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port: srv.port('http') }, () => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'));
        let out = '';
        s.on('data', (d: Buffer) => (out += d.toString()));
        s.on('error', () => undefined);
        s.on('close', () => resolve(out));
      });
      expect(got).toBe('');
      expect(srv.logs.some((l) => l.svc === 'http' && l.msg === 'connection refused by allowlist')).toBe(true);
    } finally {
      await srv.stop();
    }
  });
});
