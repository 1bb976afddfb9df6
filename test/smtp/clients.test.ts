// Real clients against the submission listeners: nodemailer, Python's smtplib (STARTTLS on
// 587 and SMTP_SSL on 465) and swaks; the message must reach the smart host DKIM-free but
// with our trace line, and local recipients their Maildir.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirePeer, runPeer } from '../helpers/peers.js';
import { LineClient } from '../helpers/line-client.js';
import { inbox, message, startSubmissionEnv, transport, until, type SubmissionEnv } from './setup.js';

let env: SubmissionEnv;
beforeAll(async () => {
  env = await startSubmissionEnv();
});
afterAll(async () => {
  await env?.stop();
});

describe('submission with real clients', () => {
  it('nodemailer on 587 (STARTTLS) relays a remote recipient and delivers a local one', async () => {
    const before = env.relay.received.length;
    const info = await transport(env).sendMail({
      envelope: { from: 'alice@example.test', to: ['friend@remote.test', 'bob@example.test'] },
      raw: message({ to: 'friend@remote.test, bob@example.test', subject: 'nodemailer 587' }),
    });
    expect(info.response).toMatch(/^250 2\.0\.0 Ok: queued as [0-9a-z]{21}$/);
    const got = await env.relay.waitFor(before + 1);
    const m = got[before]!;
    expect(m.from).toBe('alice@example.test');
    expect(m.to).toEqual(['friend@remote.test']);
    const text = m.data.toString('utf8');
    expect(text).toMatch(/^Received: from .*\r\n\tby mx\.test\.example with ESMTPSA id /m);
    expect(text).toMatch(/^Subject: nodemailer 587\r$/m);
    expect(text).toMatch(/^Message-ID: <[0-9a-f]+@mx\.test\.example>\r$/m); // added: the client sent none
    await until(async () => (await inbox(env, 'bob')).some((t) => t.includes('nodemailer 587')));
    const bob = (await inbox(env, 'bob')).find((t) => t.includes('nodemailer 587'))!;
    expect(bob).toMatch(/^Delivered-To: bob@example\.test/m);
    // No Sent copy on the server (the client saves it by IMAP APPEND).
    expect(await inbox(env, 'alice')).toHaveLength(0);
  });

  it('nodemailer on 465 (implicit TLS)', async () => {
    const before = env.relay.received.length;
    await transport(env, { implicit: true }).sendMail({
      envelope: { from: 'alice@example.test', to: ['x@remote.test'] },
      raw: message({ to: 'x@remote.test', subject: 'over 465' }),
    });
    const got = await env.relay.waitFor(before + 1);
    expect(got[before]!.data.toString()).toContain('Subject: over 465');
  });

  it.each([
    ['STARTTLS on 587', 'submission', false],
    ['SMTP_SSL on 465', 'submissions', true],
  ] as const)("Python's smtplib, %s", async (_label, svc, implicit) => {
    if (!requirePeer('python3', 'submission smtplib')) return;
    const before = env.relay.received.length;
    const script = `
import smtplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
port = int(sys.argv[1])
if sys.argv[2] == '1':
    s = smtplib.SMTP_SSL('127.0.0.1', port, context=ctx)
else:
    s = smtplib.SMTP('127.0.0.1', port); s.ehlo(); s.starttls(context=ctx)
s.ehlo()
assert s.has_extn('auth') and s.has_extn('size') and s.has_extn('8bitmime') and s.has_extn('smtputf8') and s.has_extn('enhancedstatuscodes') and s.has_extn('pipelining') and s.has_extn('dsn'), s.esmtp_features
s.login('alice@example.test', 'pw-alice-1')
msg = "From: alice@example.test\\r\\nTo: py@remote.test\\r\\nSubject: smtplib ${svc}\\r\\n\\r\\nHi from Python\\r\\n"
refused = s.sendmail('alice@example.test', ['py@remote.test'], msg)
print('refused', refused)
s.quit()
`;
    const r = await runPeer('python3', ['-c', script, String(env.srv.port(svc)), implicit ? '1' : '0']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('refused {}');
    const got = await env.relay.waitFor(before + 1);
    expect(got.some((m) => m.data.toString().includes(`Subject: smtplib ${svc}`))).toBe(true);
  });

  it('swaks with STARTTLS and AUTH LOGIN', async () => {
    if (!requirePeer('swaks', 'submission swaks')) return;
    const before = env.relay.received.length;
    const r = await runPeer('swaks', [
      '--server', '127.0.0.1', '--port', String(env.srv.port('submission')), '--tls',
      '--auth', 'LOGIN', '--auth-user', 'alice@example.test', '--auth-password', 'pw-alice-1',
      '--from', 'alice@example.test', '--to', 'swaks@remote.test',
      '--header', 'From: alice@example.test', '--header', 'Subject: via swaks',
    ]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/<~ {2}250 2\.0\.0 Ok: queued as/);
    const got = await env.relay.waitFor(before + 1);
    expect(got.some((m) => m.data.toString().includes('Subject: via swaks'))).toBe(true);
  });

  it('wrong password: 535 5.7.8, throttled on repeat, and logged without the password', async () => {
    const t = transport(env, { pass: 'wrong-password-123' });
    await expect(t.verify()).rejects.toMatchObject({ responseCode: 535 });
    const c = await LineClient.connect(env.srv.port('submission'));
    await c.reply();
    await c.command('EHLO client.test');
    const started = Date.now();
    const r = await c.command(`AUTH PLAIN ${Buffer.from('\0alice@example.test\0wrong-again').toString('base64')}`);
    expect(r).toBe('535 5.7.8 Authentication credentials invalid');
    // The second failure from this address waits longer (the shared throttle's tarpit).
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    c.close();
    const lines = JSON.stringify(env.srv.logs);
    expect(lines).toContain('auth failed');
    expect(lines).not.toContain('wrong-again');
    expect(lines).not.toContain('SG.test-api-key');
  });
});

describe('TLS is required before AUTH on 587 for non-loopback-secure set-ups', () => {
  let strict: SubmissionEnv;
  beforeAll(async () => {
    strict = await startSubmissionEnv({ auth: { loopbackIsSecure: false } });
  });
  afterAll(async () => {
    await strict?.stop();
  });

  it('AUTH and MAIL before STARTTLS get 530 5.7.0; after STARTTLS, AUTH works', async () => {
    const c = await LineClient.connect(strict.srv.port('submission'));
    expect((await c.reply())[0]).toMatch(/^220 /);
    const ehlo = (await (async () => { c.send('EHLO client.test'); return c.reply(); })()).join('\n');
    expect(ehlo).toContain('STARTTLS');
    expect(ehlo).not.toMatch(/AUTH/);
    expect(await c.command(`AUTH PLAIN ${Buffer.from('\0alice@example.test\0pw-alice-1').toString('base64')}`)).toBe(
      '530 5.7.0 Must issue a STARTTLS command first',
    );
    expect(await c.command('MAIL FROM:<alice@example.test>')).toMatch(/^530 5\.7\.0 /);
    c.close();
    // nodemailer with STARTTLS gets through.
    const before = strict.relay.received.length;
    await transport(strict).sendMail({ envelope: { from: 'alice@example.test', to: ['z@remote.test'] }, raw: message({ to: 'z@remote.test' }) });
    await strict.relay.waitFor(before + 1);
  });
});
