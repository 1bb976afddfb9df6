// Alias destinations outside our domains are forwarded through the outbound queue: an
// LMTP delivery to such an alias reaches the local users and, once, the smart host.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineClient } from '../helpers/line-client.js';
import { inbox, startSubmissionEnv, until, type SubmissionEnv } from '../smtp/setup.js';

let env: SubmissionEnv;
beforeAll(async () => {
  env = await startSubmissionEnv();
  await env.srv.app.directory.addAlias('fwd@example.test', ['alice@example.test', 'friend@elsewhere.test']);
  await env.srv.app.directory.addAlias('away@example.test', ['me@elsewhere.test', 'me2@elsewhere.test']);
});
afterAll(async () => {
  await env?.stop();
});

async function lmtp(rcpts: string[], body: string): Promise<string[]> {
  const c = await LineClient.connect(env.srv.lmtpPort);
  await c.reply();
  c.send('LHLO sender.test');
  await c.reply();
  expect(await c.command('MAIL FROM:<someone@sender.test>')).toMatch(/^250 /);
  for (const r of rcpts) expect(await c.command(`RCPT TO:<${r}>`)).toMatch(/^250 /);
  expect(await c.command('DATA')).toMatch(/^354 /);
  c.write(body + '.\r\n');
  const out: string[] = [];
  for (const _ of rcpts) out.push((await c.reply()).at(-1)!);
  c.close();
  return out;
}

describe('forwarding outside aliases', () => {
  it('a mixed alias delivers locally and relays one copy; an outside-only alias is accepted and relayed', async () => {
    const replies = await lmtp(
      ['fwd@example.test', 'away@example.test'],
      'From: someone@sender.test\r\nTo: fwd@example.test\r\nSubject: forward me\r\n\r\nhello\r\n',
    );
    expect(replies).toEqual([expect.stringMatching(/^250 /), expect.stringMatching(/^250 2\.0\.0 <away@example\.test> .* Forwarded as /)]);
    await until(async () => (await inbox(env, 'alice')).some((t) => t.includes('Subject: forward me')));
    const got = await env.relay.waitFor(2);
    const to = got.flatMap((m) => m.to).sort();
    expect(to).toEqual(['friend@elsewhere.test', 'me2@elsewhere.test', 'me@elsewhere.test']);
    for (const m of got) {
      expect(m.from).toBe('someone@sender.test'); // the original sender keeps getting the bounces
      expect(m.data.toString()).toMatch(/^Received: from sender\.test \(\[127\.0\.0\.1\]\)\r\n\tby mx\.test\.example with LMTP id /);
    }
    await until(() => env.queue.worker.size() === 0);
  });
});
