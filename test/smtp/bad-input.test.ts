// Bad input on the submission listener: oversize, malformed addresses, NUL and bare LF,
// SMTP smuggling, a client that leaves mid-DATA, a full spool. Every case gets a clear
// standard reply and a log line, the session (or the daemon) survives, nothing half-received
// is queued, and what is relayed can never be read as two messages.
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { message, startSubmissionEnv, transport, until, type SubmissionEnv } from './setup.js';
import { authedSession } from './session.js';
import { queueDir } from '../../src/smtp/index.js';

let env: SubmissionEnv;
beforeAll(async () => {
  env = await startSubmissionEnv({ submission: { maxMessageBytes: 4096 } } as never);
});
afterAll(async () => {
  await env?.stop();
});

const queueFiles = async (e: SubmissionEnv) => readdir(queueDir(e.srv.app.config));

/** Every CR is followed by LF and every LF preceded by CR. */
const onlyCrlf = (b: Buffer): boolean => {
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0x0d && b[i + 1] !== 0x0a) return false;
    if (b[i] === 0x0a && b[i - 1] !== 0x0d) return false;
  }
  return true;
};

async function transaction(rcpt: string): Promise<Awaited<ReturnType<typeof authedSession>>> {
  const c = await authedSession(env.srv.port('submission'));
  expect(await c.command('MAIL FROM:<alice@example.test>')).toMatch(/^250 /);
  expect(await c.command(`RCPT TO:<${rcpt}>`)).toMatch(/^250 /);
  expect(await c.command('DATA')).toMatch(/^354 /);
  return c;
}

describe('bad input', () => {
  it('oversize: SIZE= above the limit refused at MAIL, a larger body with 552 5.3.4 after DATA; nothing queued', async () => {
    const c = await authedSession(env.srv.port('submission'));
    expect(await c.command('MAIL FROM:<alice@example.test> SIZE=99999')).toMatch(/^552 /);
    expect(await c.command('MAIL FROM:<alice@example.test>')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<big@remote.test>')).toMatch(/^250 /);
    expect(await c.command('DATA')).toMatch(/^354 /);
    c.write(message({ body: 'x'.repeat(70) + '\r\n'.repeat(1) + ('y'.repeat(76) + '\r\n').repeat(80) }) + '.\r\n');
    expect((await c.reply()).at(-1)).toBe('552 5.3.4 Message size exceeds fixed limit of 4096 bytes');
    expect(await c.command('NOOP')).toMatch(/^250 /);
    c.close();
    expect((await queueFiles(env)).filter((f) => !f.endsWith('.log'))).toEqual([]);
    expect(env.srv.logs.some((l) => l.msg === 'message over size limit')).toBe(true);
  });

  it('malformed addresses get 5xx replies and the session carries on', async () => {
    const c = await authedSession(env.srv.port('submission'));
    expect(await c.command('MAIL FROM:<alice@>')).toMatch(/^5\d\d /);
    expect(await c.command('MAIL FROM:alice@example.test')).toMatch(/^5\d\d /);
    expect(await c.command('MAIL FROM:<alice@example.test>')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<no-at-sign>')).toMatch(/^5\d\d /);
    expect(await c.command('RCPT TO:<a b@remote.test>')).toMatch(/^5\d\d /);
    expect(await c.command('RCPT TO:<x@[300.1.1.1>')).toMatch(/^5\d\d /);
    expect(await c.command('RCPT TO:<ok@remote.test>')).toMatch(/^250 /);
    expect(await c.command('QUIT')).toMatch(/^221 /);
  });

  it('NUL in DATA: 554 5.6.0, nothing queued', async () => {
    const c = await transaction('nul@remote.test');
    c.write(Buffer.concat([Buffer.from(message({ body: 'before' })), Buffer.from([0]), Buffer.from('after\r\n.\r\n')]));
    expect((await c.reply()).at(-1)).toBe('554 5.6.0 Message contains NUL characters');
    c.close();
    expect(env.relay.received.some((m) => m.to.includes('nul@remote.test'))).toBe(false);
  });

  it('bare LF lines are accepted and relayed with CRLF only', async () => {
    const before = env.relay.received.length;
    const c = await transaction('barelf@remote.test');
    c.write('From: alice@example.test\nTo: barelf@remote.test\nSubject: bare lf\n\nline one\nline two\r\n.\r\n');
    expect((await c.reply()).at(-1)).toMatch(/^250 /);
    c.close();
    const got = await env.relay.waitFor(before + 1);
    const m = got.find((x) => x.to.includes('barelf@remote.test'))!;
    expect(onlyCrlf(m.data)).toBe(true);
    expect(m.data.toString()).toMatch(/Subject: bare lf\r\n(.*\r\n)*\r\nline one\r\nline two\r\n/);
  });

  // Only <CRLF>.<CRLF> ends DATA. Each variant hides a second transaction after a fake end
  // of data; it must stay inside the one message, and the relayed copy must contain no
  // bare CR or LF that a lenient next hop could read as an end of data.
  const fakeEnds = ['\n.\n', '\r.\r', '\n.\r\n', '\r\n.\n', '\r.\r\n', '\r\n.\r', '\n.\r', '\r.\n', '\n..\n'];
  it.each(fakeEnds.map((v) => [JSON.stringify(v), v]))('smuggling with %s: one message, nothing smuggled', async (_name, fake) => {
    const before = env.relay.received.length;
    const c = await transaction('target@remote.test');
    const smuggled = 'MAIL FROM:<alice@example.test>\r\nRCPT TO:<smuggled@remote.test>\r\nDATA\r\nFrom: alice@example.test\r\nSubject: smuggled\r\n\r\nevil\r\n';
    c.write(`From: alice@example.test\r\nTo: target@remote.test\r\nSubject: carrier\r\n\r\nhello${fake}${smuggled}.\r\n`);
    const replies = await c.reply();
    expect(replies.at(-1)).toMatch(/^250 2\.0\.0 Ok: queued as/);
    expect(await c.command('NOOP')).toMatch(/^250 /); // no stray replies from a hidden transaction
    c.close();
    await env.relay.waitFor(before + 1);
    await until(() => env.queue.worker.size() === 0);
    const now = env.relay.received.slice(before);
    expect(now).toHaveLength(1);
    expect(now[0]!.to).toEqual(['target@remote.test']);
    expect(onlyCrlf(now[0]!.data)).toBe(true);
    expect(now[0]!.data.toString()).toContain('RCPT TO:<smuggled@remote.test>');
  });

  it('a client that disconnects mid-DATA leaves nothing queued', async () => {
    const c = await transaction('midway@remote.test');
    c.write('From: alice@example.test\r\nTo: midway@remote.test\r\nSubject: cut\r\n\r\npartial body ');
    await new Promise((r) => setTimeout(r, 100));
    c.close();
    await until(() => env.srv.logs.some((l) => l.msg === 'client left during DATA; nothing queued'));
    expect((await queueFiles(env)).filter((f) => f.endsWith('.tmp') || f.endsWith('.msg'))).toEqual([]);
    expect(env.queue.worker.size()).toBe(0);
  });
});

describe('a spool that fills up during DATA', () => {
  let small: SubmissionEnv;
  beforeAll(async () => {
    small = await startSubmissionEnv({ relay: { maxSpoolBytes: 3000 } } as never);
  });
  afterAll(async () => {
    await small?.stop();
  });

  it('452 4.3.1 after DATA, no partial file left; a message that fits is then accepted and relayed', async () => {
    const c = await authedSession(small.srv.port('submission'));
    expect(await c.command('MAIL FROM:<alice@example.test>')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<big@remote.test>')).toMatch(/^250 /);
    expect(await c.command('DATA')).toMatch(/^354 /);
    c.write(message({ to: 'big@remote.test', body: ('z'.repeat(70) + '\r\n').repeat(80) }) + '.\r\n');
    expect((await c.reply()).at(-1)).toBe('452 4.3.1 Insufficient system storage, try again later');
    expect(await c.command('MAIL FROM:<alice@example.test>')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<small@remote.test>')).toMatch(/^250 /);
    expect(await c.command('DATA')).toMatch(/^354 /);
    c.write(message({ to: 'small@remote.test', subject: 'fits' }) + '.\r\n');
    expect((await c.reply()).at(-1)).toMatch(/^250 2\.0\.0 Ok: queued as/);
    c.close();
    const got = await small.relay.waitFor(1);
    expect(got.map((m) => m.to[0])).toEqual(['small@remote.test']);
    expect((await queueFiles(small)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(small.srv.logs.some((l) => l.msg === 'queue spool full')).toBe(true);
  });
});

describe('a full spool', () => {
  let full: SubmissionEnv;
  beforeAll(async () => {
    // The quota on the spool: one queued message of ~2.3 KB (plus its envelope) fills it.
    full = await startSubmissionEnv({ relay: { maxSpoolBytes: 2500 } } as never);
  });
  afterAll(async () => {
    await full?.stop();
  });

  it('452 4.3.1 while the spool is over quota; the queued message is delivered, then mail is accepted again', async () => {
    full.relay.script.set('held@remote.test', { code: 451, text: '4.3.0 hold it' });
    await transport(full).sendMail({ envelope: { from: 'alice@example.test', to: ['held@remote.test'] }, raw: message({ to: 'held@remote.test', subject: 'held', body: ('h'.repeat(70) + '\r\n').repeat(30) }) });
    await until(() => full.srv.logs.some((l) => l.msg === 'recipient deferred'));
    const c = await authedSession(full.srv.port('submission'));
    expect(await c.command('MAIL FROM:<alice@example.test>')).toBe('452 4.3.1 Insufficient system storage, try again later');
    c.close();
    full.relay.script.delete('held@remote.test');
    await full.relay.waitFor(1);
    await until(() => full.queue.worker.size() === 0);
    await transport(full).sendMail({ envelope: { from: 'alice@example.test', to: ['after@remote.test'] }, raw: message({ to: 'after@remote.test' }) });
    await full.relay.waitFor(2);
  });
});
