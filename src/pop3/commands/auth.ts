// AUTHORIZATION state: USER/PASS (RFC 1939 7), AUTH with SASL PLAIN and LOGIN (RFC 5034),
// STLS (RFC 2595 4). Every password goes through the shared passwordLogin (throttle + log).
import { decodeLoginStep, decodePlain, LOGIN_PROMPTS, SASL_MECHANISMS, SaslError } from '../../auth/sasl.js';
import type { Pop3Command } from '../proto/command.js';
import { Pop3Err } from '../errors.js';
import type { Pop3Session } from '../session.js';

type Cmd<N extends Pop3Command['name']> = Extract<Pop3Command, { name: N }>;

/** RFC 2595 2.4 / Dovecot's disable_plaintext_auth: no passwords before TLS. */
function requireLoginAllowed(s: Pop3Session): void {
  if (s.loginAllowed()) return;
  throw new Pop3Err(
    s.offersStls
      ? 'Plaintext authentication is disabled on this connection: use STLS first'
      : 'Plaintext authentication is disabled on this connection',
    { code: 'SYS/PERM' },
  );
}

export function stls(s: Pop3Session): Promise<void> {
  if (!s.offersStls || s.secure) throw new Pop3Err('TLS is already active', { bad: true });
  return s.startTls();
}

export function user(s: Pop3Session, c: Cmd<'USER'>): void {
  requireLoginAllowed(s);
  if (s.state.kind !== 'authorization') return;
  s.state = { kind: 'authorization', pendingUser: c.user };
  // Same answer for every name: USER must not reveal which mailboxes exist.
  s.sendLine('+OK Send the password');
}

export async function pass(s: Pop3Session, c: Cmd<'PASS'>): Promise<void> {
  requireLoginAllowed(s);
  const st = s.state;
  if (st.kind !== 'authorization' || st.pendingUser === undefined) throw new Pop3Err('Send USER first', { bad: true });
  // RFC 1939 7: after a failed PASS the client starts again with USER.
  s.state = { kind: 'authorization' };
  await s.login(st.pendingUser, c.password);
}

export async function auth(s: Pop3Session, c: Cmd<'AUTH'>): Promise<void> {
  requireLoginAllowed(s);
  if (!c.mechanism) {
    // Not in RFC 5034, but sent by older clients (and answered by Dovecot) to list mechanisms.
    s.sendMultiline('+OK', SASL_MECHANISMS);
    return;
  }
  let username: string;
  let password: string;
  let authzid = '';
  try {
    if (c.mechanism === 'PLAIN') {
      const response = c.initialResponse ?? (await challenge(s, ''));
      // RFC 5034 4: "=" is an empty initial response.
      const creds = decodePlain(response === '=' ? '' : response);
      ({ username, password, authzid } = creds);
    } else if (c.mechanism === 'LOGIN') {
      const first = c.initialResponse !== undefined && c.initialResponse !== '=' ? c.initialResponse : await challenge(s, LOGIN_PROMPTS.username);
      username = decodeLoginStep(first);
      password = decodeLoginStep(await challenge(s, LOGIN_PROMPTS.password));
    } else {
      throw new Pop3Err(`Unsupported authentication mechanism ${c.mechanism.slice(0, 20)}`, { bad: true });
    }
  } catch (err) {
    if (err instanceof SaslError) throw new Pop3Err(`Invalid SASL response: ${err.message}`, { bad: true });
    throw err;
  }
  await s.login(username, password, authzid);
}

/** One SASL round trip: "+ challenge", then the client's line; "*" cancels (RFC 5034 4). */
async function challenge(s: Pop3Session, text: string): Promise<string> {
  s.sendLine(text ? `+ ${text}` : '+ ');
  const line = await s.nextLine();
  if (!line) throw new Pop3Err('Connection closed during authentication');
  if (line.kind === 'overlong') throw new Pop3Err('Authentication response too long', { bad: true });
  if (line.text.trim() === '*') throw new Pop3Err('Authentication cancelled');
  return line.text.trim();
}
