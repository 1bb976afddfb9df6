// The queue against a scriptable smart host: retry after 4xx, one DSN after 5xx, partial
// success across recipients (each recipient relayed once), the relay down for a while and
// back, and a relay whose certificate cannot be verified (mail waits, nothing bounces).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inbox, message, startSubmissionEnv, transport, until, type SubmissionEnv } from '../smtp/setup.js';

let env: SubmissionEnv;
beforeAll(async () => {
  env = await startSubmissionEnv();
});
afterAll(async () => {
  await env?.stop();
});

const send = (to: string[], subject: string, extra?: string) =>
  transport(env).sendMail({ envelope: { from: 'alice@example.test', to }, raw: message({ to: to.join(', '), subject, ...(extra ? { extra } : {}) }) });

const relayedTo = (rcpt: string, subject: string) =>
  env.relay.received.filter((m) => m.to.includes(rcpt) && m.data.toString().includes(`Subject: ${subject}`));

const bounces = async (subject: string) => (await inbox(env, 'alice')).filter((t) => t.includes('multipart/report') && t.includes(`Subject: ${subject}`));

describe('relay through the smart host', () => {
  it('retries a recipient after 4xx and relays it once the smart host accepts', async () => {
    env.relay.script.set('later@remote.test', { code: 451, text: '4.3.0 try later' });
    await send(['later@remote.test'], 'retry me');
    await until(() => env.srv.logs.some((l) => l.msg === 'recipient deferred' && l.rcpt === 'later@remote.test'));
    expect(relayedTo('later@remote.test', 'retry me')).toHaveLength(0);
    env.relay.script.delete('later@remote.test');
    await until(() => relayedTo('later@remote.test', 'retry me').length === 1, 10_000);
    await until(() => env.queue.worker.size() === 0);
    expect(await bounces('retry me')).toHaveLength(0);
  });

  it('bounces after 5xx with one RFC 3464 report to the sender; partial success relays the rest once', async () => {
    env.relay.script.set('nobody@remote.test', { code: 550, text: '5.1.1 no such user here' });
    env.relay.script.set('gone@remote.test', { code: 550, text: '5.1.1 gone' });
    await send(['ok1@remote.test', 'nobody@remote.test', 'gone@remote.test', 'ok2@remote.test'], 'partial');
    await until(async () => (await bounces('Undelivered Mail Returned to Sender')).length > 0 || (await inbox(env, 'alice')).length > 0);
    await until(() => env.queue.worker.size() === 0);
    const reports = (await inbox(env, 'alice')).filter((t) => t.includes('nobody@remote.test'));
    expect(reports).toHaveLength(1); // one DSN for both failures
    const dsn = reports[0]!;
    expect(dsn).toMatch(/^Return-Path: <>/m);
    expect(dsn).toMatch(/Content-Type: multipart\/report; report-type=delivery-status;/);
    expect(dsn).toMatch(/Content-Type: message\/delivery-status/);
    expect(dsn).toMatch(/Final-Recipient: rfc822; nobody@remote\.test\r?\nAction: failed\r?\nStatus: 5\.1\.1/);
    expect(dsn).toMatch(/Final-Recipient: rfc822; gone@remote\.test\r?\nAction: failed\r?\nStatus: 5\.1\.1/);
    expect(dsn).toMatch(/Diagnostic-Code: smtp; 550 5\.1\.1 no such user here/);
    expect(dsn).toContain('Subject: partial'); // the original's header section comes back
    expect(dsn).not.toMatch(/Final-Recipient: rfc822; ok1/);
    // Accepted recipients were relayed exactly once, even though two others failed.
    expect(relayedTo('ok1@remote.test', 'partial')).toHaveLength(1);
    expect(relayedTo('ok2@remote.test', 'partial')).toHaveLength(1);
  });

  it('NOTIFY=NEVER: no bounce', async () => {
    env.relay.script.set('never@remote.test', { code: 550, text: '5.1.1 nope' });
    const c = transport(env);
    await c.sendMail({
      envelope: { from: 'alice@example.test', to: ['never@remote.test'] },
      raw: message({ to: 'never@remote.test', subject: 'quiet failure' }),
      dsn: { notify: 'NEVER' },
    } as Parameters<typeof c.sendMail>[0]);
    await until(() => env.srv.logs.some((l) => l.msg === 'recipient failed' && l.rcpt === 'never@remote.test'));
    await until(() => env.queue.worker.size() === 0);
    expect((await inbox(env, 'alice')).filter((t) => t.includes('never@remote.test'))).toHaveLength(0);
  });

  it('a connection dropped mid-transaction is a temporary failure; the relay down for a while and back', async () => {
    env.relay.script.set('drop@remote.test', 'drop');
    await send(['drop@remote.test'], 'dropped');
    await until(() => env.srv.logs.some((l) => l.msg === 'recipient deferred' && l.rcpt === 'drop@remote.test'));
    env.relay.script.delete('drop@remote.test');
    await env.relay.down();
    await send(['while-down@remote.test'], 'relay down');
    await until(() => env.srv.logs.some((l) => l.msg === 'recipient deferred' && l.rcpt === 'while-down@remote.test'));
    await new Promise((r) => setTimeout(r, 1500)); // at least one retry hits the closed port
    await env.relay.up();
    await until(() => relayedTo('while-down@remote.test', 'relay down').length === 1 && relayedTo('drop@remote.test', 'dropped').length === 1, 15_000);
    await until(() => env.queue.worker.size() === 0);
    expect(await bounces('relay down')).toHaveLength(0);
  });

  it('DSN parameters (RET, ENVID, NOTIFY, ORCPT) are passed through to the smart host', async () => {
    const c = transport(env);
    await c.sendMail({
      envelope: { from: 'alice@example.test', to: ['dsn@remote.test'] },
      raw: message({ to: 'dsn@remote.test', subject: 'with dsn' }),
      dsn: { ret: 'HDRS', id: 'env-42', notify: ['FAILURE', 'DELAY'], recipient: 'dsn@remote.test' },
    } as Parameters<typeof c.sendMail>[0]);
    await until(() => relayedTo('dsn@remote.test', 'with dsn').length === 1);
    const m = relayedTo('dsn@remote.test', 'with dsn')[0]!;
    expect(m.params.mail).toMatchObject({ RET: 'HDRS', ENVID: 'env-42' });
    expect(m.params.rcpt[0]).toMatchObject({ NOTIFY: 'FAILURE,DELAY', ORCPT: 'rfc822;dsn@remote.test' });
  });

  it('the relay password is never logged', () => {
    expect(JSON.stringify(env.srv.logs)).not.toContain('SG.test-api-key');
  });
});

describe('relay certificate verification is on by default', () => {
  let strictEnv: SubmissionEnv;
  beforeAll(async () => {
    strictEnv = await startSubmissionEnv({ relay: { rejectUnauthorized: true } } as never);
  });
  afterAll(async () => {
    await strictEnv?.stop();
  });

  it('an unverifiable smart host certificate defers the mail (no bounce, no relay)', async () => {
    await transport(strictEnv).sendMail({ envelope: { from: 'alice@example.test', to: ['v@remote.test'] }, raw: message({ to: 'v@remote.test' }) });
    await until(() => strictEnv.srv.logs.some((l) => l.msg === 'recipient deferred' && l.rcpt === 'v@remote.test'));
    const line = strictEnv.srv.logs.find((l) => l.msg === 'recipient deferred' && l.rcpt === 'v@remote.test')!;
    expect(String(line.reply)).toMatch(/^4\.4\.1 /);
    expect(strictEnv.relay.received).toHaveLength(0);
  });
});

describe('delay notice and expiry', () => {
  let e: SubmissionEnv;
  beforeAll(async () => {
    e = await startSubmissionEnv({ relay: { delayWarningSeconds: 1, expireSeconds: 3 } } as never);
  });
  afterAll(async () => {
    await e?.stop();
  });

  it('a recipient that keeps getting 4xx earns one delay notice, then one failure report with 4.4.7', async () => {
    e.relay.script.set('slow@remote.test', { code: 452, text: '4.2.2 mailbox full' });
    await transport(e).sendMail({ envelope: { from: 'alice@example.test', to: ['slow@remote.test'] }, raw: message({ to: 'slow@remote.test', subject: 'slowpoke' }) });
    await until(async () => (await inbox(e, 'alice')).some((t) => /Action: failed/.test(t)), 20_000);
    await until(() => e.queue.worker.size() === 0);
    const notes = (await inbox(e, 'alice')).filter((t) => t.includes('slow@remote.test'));
    expect(notes).toHaveLength(2);
    const [delay, failure] = notes;
    expect(delay).toMatch(/Subject: Delayed Mail/);
    expect(delay).toMatch(/Action: delayed\r?\nStatus: 4\.2\.2/);
    expect(failure).toMatch(/Subject: Undelivered Mail Returned to Sender/);
    expect(failure).toMatch(/Action: failed\r?\nStatus: 4\.4\.7/);
    expect(failure).toMatch(/Delivery time expired; last reply: 452 4\.2\.2 mailbox full/);
    expect(e.relay.received).toHaveLength(0);
  });
});
