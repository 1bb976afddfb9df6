// IDLE (RFC 2177): updates are pushed as the store's change records arrive, until DONE.
import type { ImapSession } from '../session.js';

export async function idle(s: ImapSession): Promise<string | null> {
  s.send('+ idling');
  const ok = await s.idle();
  return ok ? 'IDLE terminated' : null;
}
