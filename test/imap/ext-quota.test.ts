// QUOTA (RFC 9208) on the wire and through imapflow: one root "User quota" with STORAGE in
// KiB from the directory's quotaMb and the Maildir++ usage; no root for a user without quota;
// SETQUOTA refused; an APPEND over quota is NO [OVERQUOTA] and changes nothing.
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/app.js';
import { append, Imap, message, startImapServer } from './client.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startImapServer();
  await srv.addUser('quota@example.test', 'pw', { quotaMb: 1 });
  await srv.addUser('unlimited@example.test', 'pw', { quotaMb: 0 });
});
afterAll(async () => {
  await srv?.stop();
});

describe('QUOTA', () => {
  it('GETQUOTAROOT and GETQUOTA report usage and limit in KiB; SETQUOTA is refused', async () => {
    const i = await Imap.login(srv, 'quota@example.test', 'pw');
    const caps = (await i.cmd('CAPABILITY'))[0]!.split(' ');
    expect(caps).toEqual(expect.arrayContaining(['QUOTA', 'QUOTA=RES-STORAGE']));
    expect(caps).not.toContain('QUOTA=RES-MESSAGE');
    expect(await i.run('GETQUOTAROOT INBOX')).toEqual(['* QUOTAROOT "INBOX" "User quota"', '* QUOTA "User quota" (STORAGE 0 1024)', 'T OK GETQUOTAROOT completed']);
    // 3000 bytes in two mailboxes: 2 KiB (rounded down, as Dovecot).
    const a = message('a', 'x'.repeat(1400) + '\r\n');
    const b = message('b', 'y'.repeat(3000 - Buffer.byteLength(a) - Buffer.byteLength(message('b', ''))) );
    await append(i, 'INBOX', a);
    await append(i, 'Sent', b);
    expect(Buffer.byteLength(a) + Buffer.byteLength(b)).toBe(3000);
    expect(await i.run('GETQUOTAROOT Sent')).toEqual(['* QUOTAROOT "Sent" "User quota"', '* QUOTA "User quota" (STORAGE 2 1024)', 'T OK GETQUOTAROOT completed']);
    expect(await i.run('GETQUOTA "User quota"')).toEqual(['* QUOTA "User quota" (STORAGE 2 1024)', 'T OK GETQUOTA completed']);
    expect(await i.run('GETQUOTA ""')).toEqual(['T NO [NONEXISTENT] No such quota root']);
    expect(await i.run('GETQUOTAROOT Nowhere')).toEqual(['T NO [NONEXISTENT] Mailbox does not exist']);
    expect(await i.run('SETQUOTA "User quota" (STORAGE 4096)')).toEqual(['T NO [NOPERM] Quotas are set by the administrator']);
    // The limit is read fresh: an administrator's change shows at once.
    await srv.app.directory.setQuota('quota@example.test', 2);
    expect((await i.run('GETQUOTA "User quota"'))[0]).toBe('* QUOTA "User quota" (STORAGE 2 2048)');
    await srv.app.directory.setQuota('quota@example.test', 1);
    // Over the limit: NO [OVERQUOTA], nothing stored.
    const big = message('big', 'z'.repeat(1024 * 1024) + '\r\n');
    expect(await append(i, 'INBOX', big)).toEqual([expect.stringMatching(/^t\d+ NO \[OVERQUOTA\] Quota exceeded$/)]);
    expect((await i.run('GETQUOTA "User quota"'))[0]).toBe('* QUOTA "User quota" (STORAGE 2 1024)');
    i.close();
  });

  it('a user without a quota (quotaMb 0) has no quota root', async () => {
    const i = await Imap.login(srv, 'unlimited@example.test', 'pw');
    expect(await i.run('GETQUOTAROOT INBOX')).toEqual(['* QUOTAROOT "INBOX"', 'T OK GETQUOTAROOT completed']);
    expect(await i.run('GETQUOTA "User quota"')).toEqual(['T NO [NONEXISTENT] No such quota root']);
    i.close();
  });

  it('imapflow reads the quota with GETQUOTAROOT', async () => {
    const client = new ImapFlow({
      host: '127.0.0.1',
      port: srv.port('imap'),
      secure: false,
      tls: { rejectUnauthorized: false },
      auth: { user: 'quota@example.test', pass: 'pw' },
      logger: false,
    });
    await client.connect();
    const q = await client.getQuota('INBOX');
    expect(q).toMatchObject({ path: 'INBOX', quotaRoot: 'User quota', storage: { usage: 2048, limit: 1024 * 1024, status: '0%' } });
    await client.logout();
  });
});
