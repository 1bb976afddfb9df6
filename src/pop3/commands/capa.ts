// RFC 2449 5: CAPA, allowed in both states. What we list depends on where the session is:
// STLS only before TLS (RFC 2595 4), USER and SASL only while a login would be accepted,
// so a client never tries a password where it would be refused.
import { SASL_MECHANISMS } from '../../auth/sasl.js';
import type { Pop3Session } from '../session.js';

export function capa(s: Pop3Session): void {
  const caps = ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING'];
  if (s.state.kind === 'authorization') {
    if (s.offersStls && !s.secure) caps.push('STLS');
    if (s.loginAllowed()) caps.push('USER', `SASL ${SASL_MECHANISMS.join(' ')}`);
  }
  caps.push('IMPLEMENTATION mailserver');
  s.sendMultiline('+OK Capability list follows', caps);
}
