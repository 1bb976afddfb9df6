// smtp-server derives the RFC 3463 enhanced code from the basic reply code alone
// (550 → 5.1.1, 552 → 5.2.2), which is wrong for e.g. "550 5.2.1 mailbox disabled" or
// "552 5.3.4 message too big". Our replies carry their own enhanced code in the text, so
// when the text already starts with one, the library must not add a second.
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import type { DeliveryReply } from '../delivery/types.js';

const ENHANCED = /^[245]\.\d{1,3}\.\d{1,3} /;
let installed = false;

export function installEnhancedCodePassthrough(): void {
  if (installed) return;
  installed = true;
  const proto = (SMTPConnection as unknown as { prototype: { send: (...a: unknown[]) => void } }).prototype;
  const original = proto.send;
  proto.send = function (this: unknown, code: unknown, data: unknown, context: unknown) {
    if (typeof data === 'string' && ENHANCED.test(data)) return original.call(this, code, data, false);
    return original.call(this, code, data, context);
  };
}

/** The error shape smtp-server turns into a reply line. */
export function replyError(r: DeliveryReply): Error & { responseCode: number } {
  return Object.assign(new Error(`${r.enhanced} ${r.text}`), { responseCode: r.code });
}

/** The per-recipient entry of an LMTP onData answer: a string means 250, an Error its code. */
export function lmtpAnswer(r: DeliveryReply): string | (Error & { responseCode: number }) {
  return r.code >= 200 && r.code < 300 ? `${r.enhanced} ${r.text}` : replyError(r);
}
