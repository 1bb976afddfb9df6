// Session lifecycle: idle logout (RFC 3501 5.4), graceful stop with BYE, a mailbox deleted
// under another session, and the '/' hierarchy delimiter.
import { describe, expect, it } from 'vitest';
import { append, Imap, message, startImapServer } from './client.js';

describe('IMAP session lifecycle', () => {
  it('logs out an idle client with BYE, and says BYE to everyone at stop', async () => {
    const srv = await startImapServer({ imap: { starttls: { idleTimeoutSeconds: 1 } } });
    let stopped = false;
    try {
      const idle = await Imap.login(srv);
      const started = Date.now();
      expect(await idle.c.line(5000)).toBe('* BYE Autologout; idle for too long');
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(await idle.c.line()).toBeNull();
      expect(srv.logs.some((l) => l.msg === 'idle timeout')).toBe(true);

      const a = await Imap.login(srv);
      a.c.send('i1 IDLE');
      expect(await a.c.line()).toBe('+ idling');
      const b = await Imap.connect(srv.port('imap'));
      stopped = true;
      const stopping = srv.stop();
      expect(await a.c.line()).toBe('* BYE Server shutting down');
      expect(await b.c.line()).toBe('* BYE Server shutting down');
      expect(await a.c.line()).toBeNull();
      await stopping;
    } finally {
      if (!stopped) await srv.stop();
    }
  });

  it('a mailbox deleted under another session ends that session with BYE; its own DELETE just deselects', async () => {
    const srv = await startImapServer();
    try {
      const a = await Imap.login(srv);
      const b = await Imap.login(srv);
      await a.cmd('CREATE Temp');
      await append(a, 'Temp', message('t'));
      await a.cmd('SELECT Temp');
      expect(await b.run('SELECT Temp')).toContain('* 1 EXISTS');
      expect(await a.run('DELETE Temp')).toEqual(['T OK DELETE completed']);
      expect(await a.run('FETCH 1 UID')).toEqual(['T BAD FETCH not allowed without a selected mailbox']);
      expect(await b.c.line(100).catch(() => 'nothing yet')).toBe('nothing yet');
      b.c.send('n1 NOOP');
      expect(await b.c.line()).toBe('* BYE Selected mailbox was deleted, have to disconnect');
      expect(await b.c.line()).toBeNull();
      a.close();
    } finally {
      await srv.stop();
    }
  });

  it("with imap.hierarchyDelimiter '/', clients see '/' and the names on disk stay Dovecot's", async () => {
    const srv = await startImapServer({ imap: { hierarchyDelimiter: '/' } });
    try {
      const i = await Imap.login(srv);
      expect(await i.run('CREATE Projects/2024')).toEqual(['T OK CREATE completed']);
      expect(await i.run('CREATE a.b')).toEqual([expect.stringMatching(/^T NO \[CANNOT\] /)]);
      expect(await i.run('LIST "" Projects*')).toEqual([
        '* LIST (\\Noselect \\HasChildren) "/" "Projects"',
        '* LIST (\\HasNoChildren) "/" "Projects/2024"',
        'T OK LIST completed',
      ]);
      expect(await i.run('NAMESPACE')).toEqual(['* NAMESPACE (("" "/")) NIL NIL', 'T OK NAMESPACE completed']);
      const { readdir } = await import('node:fs/promises');
      expect(await readdir(`${srv.mailRoot}/example.test/alice`)).toContain('.Projects.2024');
      i.close();
    } finally {
      await srv.stop();
    }
  });
});
