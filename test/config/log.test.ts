import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { createLogger, newSessionId, sessionLogger } from '../../src/log.js';

function sink() {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _e, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) {
        raw.push(l);
        lines.push(JSON.parse(l) as Record<string, unknown>);
      }
      done();
    },
  });
  return { lines, raw, stream };
}

describe('logger', () => {
  test('JSON with svc and level label; secrets redacted at any shallow depth', () => {
    const { lines, stream } = sink();
    const log = createLogger({ level: 'info' }, stream).child({ svc: 'main' });
    log.info({ user: 'a@example.com', password: 'hunter2', auth: { pass: 'x', apiKey: 'SG.1' }, headers: { authorization: 'Basic Zm9v' } }, 'login');
    log.debug('hidden at info');
    expect(lines).toHaveLength(1);
    const l = lines[0]!;
    expect(l).toMatchObject({ svc: 'main', level: 'info', msg: 'login', user: 'a@example.com', password: '[redacted]' });
    expect(l.auth).toEqual({ pass: '[redacted]', apiKey: '[redacted]' });
    expect(l.headers).toEqual({ authorization: '[redacted]' });
    expect(JSON.stringify(l)).not.toMatch(/hunter2|SG\.1|Zm9v/);
  });

  test('session child carries svc, sid and remote', () => {
    const { lines, raw, stream } = sink();
    const s = sessionLogger(createLogger({ level: 'info' }, stream), { svc: 'lmtp', sid: 'abc', remote: '127.0.0.1' });
    s.info('connected');
    expect(lines[0]).toMatchObject({ svc: 'lmtp', sid: 'abc', remote: '127.0.0.1' });
    expect(raw[0]!.match(/"svc":/g)).toHaveLength(1); // no second, inherited svc key
  });

  test('session ids are short, lower-case base32 and distinct', () => {
    const ids = new Set(Array.from({ length: 1000 }, newSessionId));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[a-z2-7]{10}$/);
  });
});
