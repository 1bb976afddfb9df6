// Stopping the daemon: an idle submission session is told 421, one in the middle of DATA
// finishes with its 250 and the message is in the queue directory, ready for the next start.
import { readdir, rm } from 'node:fs/promises';
import { afterAll, expect, it } from 'vitest';
import { queueDir } from '../../src/smtp/index.js';
import { message, startSubmissionEnv, type SubmissionEnv } from './setup.js';
import { authedSession } from './session.js';

let env: SubmissionEnv;
afterAll(async () => {
  await env?.relay.close();
  if (env) await rm(env.srv.dataDir, { recursive: true, force: true });
});

it('idle sessions get 421; a transaction in DATA completes and its message stays queued', async () => {
  env = await startSubmissionEnv();
  await env.relay.down(); // keep the message in the queue
  const idle = await authedSession(env.srv.port('submission'));
  const busy = await authedSession(env.srv.port('submission'));
  expect(await busy.command('MAIL FROM:<alice@example.test>')).toMatch(/^250 /);
  expect(await busy.command('RCPT TO:<late@remote.test>')).toMatch(/^250 /);
  expect(await busy.command('DATA')).toMatch(/^354 /);
  busy.write('From: alice@example.test\r\nTo: late@remote.test\r\n');

  const stopping = env.srv.app.stop();
  expect(await idle.line()).toBe('421 4.3.2 Server shutting down');
  busy.write(message({ to: 'late@remote.test', subject: 'finished during stop' }).split('\r\n').slice(2).join('\r\n') + '.\r\n');
  const r = (await busy.reply()).at(-1)!;
  expect(r).toMatch(/^250 2\.0\.0 Ok: queued as (\S+)$/);
  const id = /queued as (\S+)/.exec(r)![1]!;
  await stopping;
  expect(await readdir(queueDir(env.srv.app.config))).toContain(`${id}.msg`);
});
