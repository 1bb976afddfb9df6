// The admin REST API on the real daemon: every route, and bad input (malformed JSON,
// unknown fields, invalid addresses, path-escaping names, duplicates) answered with a 4xx
// and nothing changed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.js';

const TOKEN = 'admin-token-0123456789abcdef';
let srv: TestServer;
let base: string;

beforeAll(async () => {
  srv = await startTestServer({ http: { adminTokens: [TOKEN], admins: ['root@admin.example'] } });
  base = `http://127.0.0.1:${srv.port('http')}`;
  await srv.app.directory.addDomain('admin.example');
  await srv.addUser('root@admin.example', 'root-password');
  await srv.addUser('plain@admin.example', 'plain-password');
});
afterAll(async () => {
  await srv?.stop();
});

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function api(method: string, path: string, body?: unknown, opts: { auth?: string | null; raw?: string; type?: string } = {}) {
  const headers: Record<string, string> = {};
  const auth = opts.auth === undefined ? `Bearer ${TOKEN}` : opts.auth;
  if (auth) headers.Authorization = auth;
  let payload: string | undefined;
  if (opts.raw !== undefined) payload = opts.raw;
  else if (body !== undefined) payload = JSON.stringify(body);
  if (payload !== undefined) headers['Content-Type'] = opts.type ?? 'application/json';
  const res = await fetch(`${base}${path}`, { method, headers, body: payload });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: (text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : {}) as Json };
}

/** Everything the API can see, to show that a refused request changed nothing. */
async function snapshot() {
  const [d, u, a] = await Promise.all([api('GET', '/api/v1/domains'), api('GET', '/api/v1/users'), api('GET', '/api/v1/aliases')]);
  return { d: d.json, u: u.json, a: a.json };
}

describe('admin API', () => {
  it('requires an admin token or an admin user', async () => {
    expect((await api('GET', '/api/v1/domains', undefined, { auth: null })).status).toBe(401);
    const wrong = await api('GET', '/api/v1/domains', undefined, { auth: 'Bearer not-the-token' });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error.code).toBe('unauthorized');
    const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
    expect((await api('GET', '/api/v1/domains', undefined, { auth: basic('root@admin.example', 'root-password') })).status).toBe(200);
    expect((await api('GET', '/api/v1/domains', undefined, { auth: basic('plain@admin.example', 'plain-password') })).status).toBe(401);
    expect((await api('GET', '/api/v1/domains', undefined, { auth: basic('root@admin.example', 'wrong') })).status).toBe(401);
  });

  it('manages domains, users and aliases through every route', async () => {
    let r = await api('POST', '/api/v1/domains', { name: 'Example.COM' });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ name: 'example.com', active: true });
    expect(r.headers.get('location')).toBe('/api/v1/domains/example.com');
    expect((await api('GET', '/api/v1/domains/example.com')).json.name).toBe('example.com');
    expect((await api('PATCH', '/api/v1/domains/example.com', { active: false })).json.active).toBe(false);
    expect((await api('PATCH', '/api/v1/domains/example.com', { active: true })).json.active).toBe(true);
    const dns = await api('GET', '/api/v1/domains/example.com/dns');
    expect(dns.json.records.map((x: Json) => `${x.type} ${x.name}`)).toEqual(['MX example.com.', 'TXT example.com.', 'TXT _dmarc.example.com.']);
    expect(dns.json.records[1].zone).toBe('example.com. 3600 IN TXT "v=spf1 include:sendgrid.net ~all"');

    r = await api('POST', '/api/v1/users', { address: 'Dana@example.com', password: 'dana-pass-1', quotaMb: 10 });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ address: 'dana@example.com', quotaMb: 10, active: true });
    expect(r.json.passwordHash).toBeUndefined();
    r = await api('GET', '/api/v1/users/dana%40example.com');
    expect(r.json).toMatchObject({ address: 'dana@example.com', usage: { bytes: 0, messages: 0 } });
    expect((await api('GET', '/api/v1/users?domain=example.com')).json.users.map((u: Json) => u.address)).toEqual(['dana@example.com']);
    r = await api('PATCH', '/api/v1/users/dana@example.com', { quotaMb: 20, active: false, password: 'dana-pass-2' });
    expect(r.json).toMatchObject({ quotaMb: 20, active: false });
    await api('PATCH', '/api/v1/users/dana@example.com', { active: true });
    expect(await srv.app.directory.authenticate('dana@example.com', 'dana-pass-2')).not.toBeNull();

    r = await api('POST', '/api/v1/aliases', { source: 'info@example.com', destinations: ['dana@example.com', 'ext@other.example'] });
    expect(r.status).toBe(201);
    expect(r.json).toEqual({ source: 'info@example.com', destinations: ['dana@example.com', 'ext@other.example'] });
    expect((await api('GET', '/api/v1/aliases?domain=example.com')).json.aliases).toHaveLength(1);
    expect((await api('DELETE', '/api/v1/aliases/info@example.com?destination=ext%40other.example')).status).toBe(204);
    expect((await api('GET', '/api/v1/aliases')).json.aliases).toEqual([{ source: 'info@example.com', destinations: ['dana@example.com'] }]);
    expect((await api('DELETE', '/api/v1/aliases/info@example.com')).status).toBe(204);

    // A domain with users is in use; after the user goes, it can go.
    expect((await api('DELETE', '/api/v1/domains/example.com')).json.error.code).toBe('in-use');
    expect((await api('DELETE', '/api/v1/users/dana@example.com')).status).toBe(204);
    expect((await api('GET', '/api/v1/users/dana@example.com')).status).toBe(404);
    expect((await api('DELETE', '/api/v1/domains/example.com')).status).toBe(204);
    expect((await api('GET', '/api/v1/domains/example.com')).status).toBe(404);
  });

  it('answers bad input with a 4xx and changes nothing', async () => {
    await api('POST', '/api/v1/domains', { name: 'keep.example' });
    await api('POST', '/api/v1/users', { address: 'eve@keep.example', password: 'eve-pass' });
    const before = await snapshot();
    const cases: Array<[string, string, unknown, { raw?: string; type?: string }, number, string]> = [
      ['POST', '/api/v1/domains', undefined, { raw: '{"name": "x.example"' }, 400, 'malformed-json'],
      ['POST', '/api/v1/domains', { name: 'x.example' }, { type: 'text/plain' }, 415, 'unsupported-media-type'],
      ['POST', '/api/v1/domains', { name: 'x.example', owner: 'me' }, {}, 400, 'invalid'],
      ['POST', '/api/v1/domains', { name: '../../etc' }, {}, 400, 'invalid'],
      ['POST', '/api/v1/domains', { name: 'keep.example' }, {}, 409, 'exists'],
      ['POST', '/api/v1/users', { address: 'not-an-address', password: 'p' }, {}, 400, 'invalid'],
      ['POST', '/api/v1/users', { address: '../../x@keep.example', password: 'p' }, {}, 400, 'invalid'],
      ['POST', '/api/v1/users', { address: '.hidden@keep.example', password: 'p' }, {}, 400, 'invalid'],
      ['POST', '/api/v1/users', { address: 'eve@keep.example', password: 'p' }, {}, 409, 'exists'],
      ['POST', '/api/v1/users', { address: 'new@keep.example', password: 'p', quota: 5 }, {}, 400, 'invalid'],
      ['POST', '/api/v1/users', { address: 'new@keep.example', password: 'a\nb' }, {}, 400, 'invalid'],
      ['POST', '/api/v1/users', { address: 'new@nowhere.example', password: 'p' }, {}, 404, 'not-found'],
      ['PATCH', '/api/v1/users/eve@keep.example', { quotaMb: 5, password: '' }, {}, 400, 'invalid'],
      ['PATCH', '/api/v1/users/eve@keep.example', { quotaMb: -1 }, {}, 400, 'invalid'],
      ['PATCH', '/api/v1/users/eve@keep.example', {}, {}, 400, 'invalid'],
      ['PATCH', '/api/v1/users/..%2F..%2Fetc%2Fpasswd', { quotaMb: 1 }, {}, 404, 'not-found'],
      ['GET', '/api/v1/users/%E0%A4%A', undefined, {}, 400, 'bad-request'],
      ['DELETE', '/api/v1/users/nobody@keep.example', undefined, {}, 404, 'not-found'],
      ['POST', '/api/v1/aliases', { source: 'a@keep.example', destinations: [] }, {}, 400, 'invalid'],
      ['POST', '/api/v1/aliases', { source: 'a/b@keep.example', destinations: ['eve@keep.example'] }, {}, 400, 'invalid'],
      ['POST', '/api/v1/aliases', { source: 'a@keep.example', destinations: ['eve@keep.example', 'bad address'] }, {}, 400, 'invalid'],
      ['DELETE', '/api/v1/aliases/none@keep.example', undefined, {}, 404, 'not-found'],
      ['DELETE', '/api/v1/domains/..', undefined, {}, 404, 'not-found'],
      ['PUT', '/api/v1/domains', { name: 'x.example' }, {}, 405, 'method-not-allowed'],
      ['GET', '/api/v1/nothing', undefined, {}, 404, 'not-found'],
    ];
    for (const [method, path, body, opts, status, code] of cases) {
      const r = await api(method, path, body, opts);
      expect({ method, path, status: r.status, code: r.json.error?.code }).toEqual({ method, path, status, code });
      expect(typeof r.json.error.message).toBe('string');
    }
    const big = await api('POST', '/api/v1/domains', undefined, { raw: JSON.stringify({ name: 'x'.repeat(70 * 1024) }) });
    expect(big.status).toBe(413);
    expect(await snapshot()).toEqual(before);
  });

  it('serves its OpenAPI document, listing every route', async () => {
    const r = await api('GET', '/api/v1/openapi.json', undefined, { auth: null });
    expect(r.status).toBe(200);
    expect(r.json.openapi).toBe('3.1.0');
    expect(Object.keys(r.json.paths)).toEqual(
      expect.arrayContaining(['/api/v1/domains', '/api/v1/domains/{name}', '/api/v1/users/{address}', '/api/v1/aliases/{source}', '/api/v1/password', '/ingest']),
    );
    // Request schemas come from the validating zod schemas: unknown fields are refused there too.
    expect(r.json.paths['/api/v1/users'].post.requestBody.content['application/json'].schema).toMatchObject({
      additionalProperties: false,
      required: ['address', 'password'],
    });
  });
});
