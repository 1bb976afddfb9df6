// Graceful stop for the listeners built on smtp-server: LMTP here, and submission, which
// takes it from here as it does the reply-code and logging fixes.
import type { SMTPServer } from 'smtp-server';

/** The parts of smtp-server's connection object that a graceful stop needs. */
interface LiveConnection {
  session?: { envelope?: { mailFrom?: unknown } };
  _dataStream?: unknown;
  send(code: number, text: string): void;
  close(): void;
}

/**
 * Idle connections are told 421 at once; those in a transaction get until the deadline to
 * finish, so an accepted message is never cut off mid-fsync. (smtp-server's own close()
 * cannot be used: it never listened itself, so its grace timer is cleared immediately.)
 */
export async function drainConnections(smtp: SMTPServer, graceMs: number): Promise<void> {
  const conns = (smtp as unknown as { connections: Set<LiveConnection> }).connections;
  const busy = (c: LiveConnection): boolean => !!(c.session?.envelope?.mailFrom || c._dataStream);
  const shut = (c: LiveConnection): void => {
    c.send(421, '4.3.2 Server shutting down');
    c.close();
  };
  for (const c of conns) if (!busy(c)) shut(c);
  const deadline = Date.now() + graceMs;
  while (conns.size > 0 && Date.now() < deadline && [...conns].some(busy)) {
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const c of conns) shut(c);
}
