// IDLE (RFC 2177): updates are pushed as the store's change records arrive, until DONE.
import { ImapBad, ImapBye } from '../errors.js';
import type { ImapSession } from '../session.js';

export async function idle(s: ImapSession): Promise<string | null> {
  s.send('+ idling');
  // `signalled` keeps a change that arrives while a push is still running (awaiting the
  // store listing) from being lost: the loop pushes again before it sleeps.
  let signalled = false;
  let wake: (() => void) | null = null;
  s.setUpdateListener(() => {
    signalled = true;
    wake?.();
  });
  let finished: string | null | undefined;
  void s.readRawLine().then((l) => {
    finished = l;
    wake?.();
  });
  try {
    while (finished === undefined && !s.isClosed) {
      signalled = false;
      try {
        await s.flushUpdates(true);
      } catch (err) {
        if (err instanceof ImapBye) s.bye(err.responseText);
        else s.log.error({ err }, 'idle update failed');
      }
      if (finished !== undefined || s.isClosed) break;
      if (signalled) continue;
      await new Promise<void>((r) => (wake = r));
      wake = null;
    }
  } finally {
    s.setUpdateListener(null);
  }
  if (finished === null || finished === undefined) return null; // the connection ended
  if (finished.trim().toUpperCase() !== 'DONE') throw new ImapBad('Expected DONE');
  return 'IDLE terminated';
}
