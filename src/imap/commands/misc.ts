// CAPABILITY, NOOP, CHECK, LOGOUT, ID, ENABLE: the commands that touch no mail.
import type { Command } from '../proto/types.js';
import type { ImapSession } from '../session.js';
import { imapString } from '../response.js';
import { enableCondstore, enableQresync } from './condstore.js';

type Of<N extends Command['name']> = Extract<Command, { name: N }>;

export async function capability(s: ImapSession): Promise<string> {
  s.send(`* CAPABILITY ${s.capabilities().join(' ')}`);
  return 'CAPABILITY completed';
}

/** Updates are flushed by the session before every tagged OK (RFC 3501 6.1.2). */
export async function noop(): Promise<string> {
  return 'NOOP completed';
}

/** Maildir writes are durable when they return: nothing to checkpoint (RFC 3501 6.4.1). */
export async function check(): Promise<string> {
  return 'CHECK completed';
}

export async function logout(s: ImapSession, _cmd: Of<'LOGOUT'>, tag: string): Promise<null> {
  s.send('* BYE Logging out');
  s.send(`${tag} OK LOGOUT completed`);
  s.close();
  return null;
}

/** RFC 2971: we log what the client says about itself and name ourselves. */
export async function id(s: ImapSession, cmd: Of<'ID'>): Promise<string> {
  if (cmd.params) {
    const fields = Object.fromEntries(cmd.params.slice(0, 30).map(([k, v]) => [k.slice(0, 30).toLowerCase(), v?.slice(0, 200) ?? null]));
    s.log.info({ client: fields }, 'client id');
  }
  s.send(`* ID (${imapString('name')} ${imapString('mailserver')} ${imapString('vendor')} ${imapString('mailserver')})`);
  return 'ID completed';
}

/**
 * What ENABLE can turn on (RFC 5161 3.1), by upper-cased name; other names are ignored, as
 * the RFC asks. UTF8=ACCEPT (RFC 6855 3) switches mailbox names to UTF-8 for the requests
 * after this one (the receiver pauses after ENABLE so none is parsed early).
 */
const ENABLEABLE: Record<string, (s: ImapSession) => void> = {
  'UTF8=ACCEPT': (s) => s.enableUtf8(),
  CONDSTORE: enableCondstore, // RFC 7162 3.1
  QRESYNC: enableQresync, // RFC 7162 3.2.3 (implies CONDSTORE)
};

/** `* ENABLED` lists what this command turned on, not what was on already (as Dovecot). */
export async function enable(s: ImapSession, cmd: Of<'ENABLE'>): Promise<string> {
  s.log.debug({ requested: cmd.capabilities }, 'enable');
  const now: string[] = [];
  for (const name of cmd.capabilities) {
    const on = ENABLEABLE[name];
    if (!on || s.enabled.has(name)) continue;
    on(s);
    s.enabled.add(name);
    now.push(name);
  }
  s.send(now.length ? `* ENABLED ${now.join(' ')}` : '* ENABLED');
  return 'ENABLE completed';
}
