// Sender policy and open-relay checks: only authenticated users send, only as addresses
// they own (their own, +tags, aliases that deliver to them), within their limits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { networkInterfaces } from 'node:os';
import { LineClient } from '../helpers/line-client.js';
import { message, startSubmissionEnv, transport, until, type SubmissionEnv } from './setup.js';
import { authedSession } from './session.js';

const otherAddress = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

let env: SubmissionEnv;
beforeAll(async () => {
  env = await startSubmissionEnv({
    submission: {
      starttls: { bind: otherAddress ? ['127.0.0.1', otherAddress] : ['127.0.0.1'] },
      users: {
        'bob@example.test': { senders: 'own', maxRecipients: 3, maxMessagesPerHour: 2, extraSenders: [] },
      },
    },
  } as never);
});
afterAll(async () => {
  await env?.stop();
});

describe('sender policy', () => {
  it('envelope sender: own address, +tag and an alias that delivers to the user pass; others get 553 5.7.1', async () => {
    const c = await authedSession(env.srv.port('submission'));
    for (const ok of ['alice@example.test', 'alice+lists@example.test', 'sales@example.test', 'team@example.test']) {
      expect(await c.command(`MAIL FROM:<${ok}>`)).toMatch(/^250 /);
      expect(await c.command('RSET')).toMatch(/^250 /);
    }
    for (const bad of ['bob@example.test', 'ceo@bank.test', 'alice@example.test.evil.test']) {
      expect(await c.command(`MAIL FROM:<${bad}>`)).toBe(`553 5.7.1 <${bad}>: Sender address not owned by user alice@example.test`);
    }
    expect(await c.command('MAIL FROM:<>')).toMatch(/^553 5\.1\.7 /);
    c.close();
  });

  it('per-user policy `own`: bob may not use the team alias', async () => {
    const c = await authedSession(env.srv.port('submission'), 'bob@example.test', 'pw-bob-1');
    expect(await c.command('MAIL FROM:<team@example.test>')).toMatch(/^553 5\.7\.1 /);
    c.close();
  });

  it('foreign From: is refused with 553 5.7.1 after DATA and nothing is queued or relayed', async () => {
    const before = env.relay.received.length;
    const c = await authedSession(env.srv.port('submission'));
    expect(await c.command('MAIL FROM:<alice@example.test>')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<victim@remote.test>')).toMatch(/^250 /);
    expect(await c.command('DATA')).toMatch(/^354 /);
    c.write(message({ from: 'The Bank <ceo@bank.test>', to: 'victim@remote.test' }) + '.\r\n');
    expect((await c.reply()).at(-1)).toBe('553 5.7.1 From: <ceo@bank.test> not owned by user alice@example.test');
    // Two From addresses, one foreign: refused too.
    expect(await c.command('MAIL FROM:<alice@example.test>')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<victim@remote.test>')).toMatch(/^250 /);
    expect(await c.command('DATA')).toMatch(/^354 /);
    c.write(message({ from: 'alice@example.test, ceo@bank.test' }) + '.\r\n');
    expect((await c.reply()).at(-1)).toMatch(/^553 5\.7\.1 From: <ceo@bank\.test>/);
    c.close();
    expect(env.queue.worker.size()).toBe(0);
    expect(env.relay.received.length).toBe(before);
    expect(env.srv.logs.some((l) => l.msg === 'From: refused by policy' && l.from === 'ceo@bank.test')).toBe(true);
  });

  it('an alias address in From: and envelope is accepted and relayed', async () => {
    const before = env.relay.received.length;
    await transport(env).sendMail({ envelope: { from: 'sales@example.test', to: ['buyer@remote.test'] }, raw: message({ from: 'Sales <sales@example.test>', to: 'buyer@remote.test' }) });
    await env.relay.waitFor(before + 1);
  });
});

describe('no open relay', () => {
  const unauthenticated = async (c: LineClient) => {
    await c.reply();
    c.send('EHLO spammer.test');
    await c.reply();
    expect(await c.command('MAIL FROM:<spam@spammer.test>')).toMatch(/^530 5\.7\.0 /);
    expect(await c.command('RCPT TO:<victim@remote.test>')).toMatch(/^(530 5\.7\.0|503) /);
    expect(await c.command('DATA')).toMatch(/^(530 5\.7\.0|503) /);
    c.close();
  };

  it('unauthenticated MAIL/RCPT from loopback are refused', async () => {
    await unauthenticated(await LineClient.connect(env.srv.port('submission')));
    await unauthenticated(await LineClient.connect(env.srv.port('submission'), '::1').catch(() => LineClient.connect(env.srv.port('submission'))));
  });

  it.skipIf(!otherAddress)('from another address: refused without AUTH, and AUTH needs TLS there', async () => {
    const svc = env.srv.app.services.find((s) => s.name === 'submission')!;
    const port = svc.addresses().find((a) => a.address === otherAddress)!.port;
    await unauthenticated(await LineClient.connect(port, otherAddress!));
    const c = await LineClient.connect(port, otherAddress!);
    await c.reply();
    c.send('EHLO client.test');
    expect((await c.reply()).join('\n')).not.toMatch(/AUTH/);
    expect(await c.command(`AUTH PLAIN ${Buffer.from('\0alice@example.test\0pw-alice-1').toString('base64')}`)).toBe('530 5.7.0 Must issue a STARTTLS command first');
    c.close();
    expect(env.relay.received.some((m) => m.from === 'spam@spammer.test')).toBe(false);
  });
});

describe('limits', () => {
  it('recipients per message: the 4th RCPT gets 452 4.5.3; messages per hour: 451 4.7.1', async () => {
    const c = await authedSession(env.srv.port('submission'), 'bob@example.test', 'pw-bob-1');
    expect(await c.command('MAIL FROM:<bob@example.test>')).toMatch(/^250 /);
    for (const r of ['a', 'b', 'c']) expect(await c.command(`RCPT TO:<${r}@remote.test>`)).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<d@remote.test>')).toBe('452 4.5.3 Too many recipients (at most 3 per message)');
    expect(await c.command('RSET')).toMatch(/^250 /);
    for (let i = 0; i < 2; i++) {
      expect(await c.command('MAIL FROM:<bob@example.test>')).toMatch(/^250 /);
      expect(await c.command('RCPT TO:<a@remote.test>')).toMatch(/^250 /);
      expect(await c.command('DATA')).toMatch(/^354 /);
      c.write(message({ from: 'bob@example.test', to: 'a@remote.test' }) + '.\r\n');
      expect((await c.reply()).at(-1)).toMatch(/^250 2\.0\.0 Ok: queued as /);
    }
    expect(await c.command('MAIL FROM:<bob@example.test>')).toBe('451 4.7.1 Hourly message limit reached, try again later');
    c.close();
    await until(() => env.queue.worker.size() === 0);
  });

  it('unknown local recipients are refused at RCPT', async () => {
    const c = await authedSession(env.srv.port('submission'));
    expect(await c.command('MAIL FROM:<alice@example.test>')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<nosuchuser@example.test>')).toMatch(/^550 5\.1\.1 /);
    expect(await c.command('RCPT TO:<bob@example.test>')).toMatch(/^250 /);
    c.close();
  });
});
