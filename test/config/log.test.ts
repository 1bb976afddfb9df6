import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { createLogger, newSessionId, sessionLogger } from '../../src/log.js';

function sink() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _e, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

describe('logger', () => {
  test('JSON with svc and level label; secrets redacted at any shallow depth', () => {
    const { lines, stream } = sink();
    const log = createLogger({ level: 'info' }, stream);
    log.info({ user: 'a@example.com', password: 'hunter2', auth: { pass: 'x', apiKey: 'SG.1' }, headers: { authorization: 'Basic Zm9v' } }, 'login');
    log.debug('hidden at info');
    expect(lines).toHaveLength(1);
    const l = lines[0]!;
    expect(l).toMatchObject({ svc: 'mailserver', level: 'info', msg: 'login', user: 'a@example.com', password: '[redacted]' });
    expect(l.auth).toEqual({ pass: '[redacted]', apiKey: '[redacted]' });
    expect(l.headers).toEqual({ authorization: '[redacted]' });
    expect(JSON.stringify(l)).not.toMatch(/hunter2|SG\.1|Zm9v/);
  });

  test('session child carries svc, sid and remote', () => {
    const { lines, stream } = sink();
    const s = sessionLogger(createLogger({ level: 'info' }, stream), { svc: 'lmtp', sid: 'abc', remote: '127.0.0.1' });
    s.info('connected');
    expect(lines[0]).toMatchObject({ svc: 'lmtp', sid: 'abc', remote: '127.0.0.1' });
  });

  test('session ids are short, lower-case base32 and distinct', () => {
    const ids = new Set(Array.from({ length: 1000 }, newSessionId));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[a-z2-7]{10}$/);
  });
});
