// Stopping the daemon: idle sessions are told 421 at once, a transaction in the middle of
// DATA is allowed to finish and gets its 250 (the message is on disk), and then the
// listener is gone.
import { expect, it } from 'vitest';
import net from 'node:net';
import { rm } from 'node:fs/promises';
import { startTestServer } from '../helpers/app.js';
import { LineClient } from '../helpers/line-client.js';

it('lets a running transaction finish, tells idle sessions 421, then stops', async () => {
  const srv = await startTestServer();
  await srv.app.directory.addDomain('example.test');
  await srv.addUser('gus@example.test', 'pw-gus-1');
  const port = srv.lmtpPort;

  const idle = await LineClient.connect(port);
  expect((await idle.reply())[0]).toMatch(/^220 /);
  expect(await idle.command('LHLO idle.test')).toMatch(/^250 /);

  const busy = await LineClient.connect(port);
  expect((await busy.reply())[0]).toMatch(/^220 /);
  await busy.command('LHLO busy.test');
  await busy.command('MAIL FROM:<x@example.jp>');
  await busy.command('RCPT TO:<gus@example.test>');
  expect(await busy.command('DATA')).toMatch(/^354 /);
  busy.write('Subject: in flight\r\n\r\nfirst half\r\n');

  const stopping = srv.app.stop();
  expect(await idle.line()).toMatch(/^421 4\.3\.2 /);
  expect(await idle.line()).toBeNull();

  busy.write('second half\r\n.\r\n');
  expect(await busy.line()).toMatch(/^250 2\.0\.0 <gus@example\.test> /);
  await stopping;

  const msgs = (await srv.app.store.listMessages({ domain: 'example.test', localPart: 'gus' }, 'INBOX')).messages;
  expect(msgs).toHaveLength(1);
  // Nothing listens any more.
  const refused = await new Promise<boolean>((r) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      r(false);
    });
    s.once('error', () => r(true));
  });
  expect(refused).toBe(true);
  await rm(srv.dataDir, { recursive: true, force: true });
});
