// smtp-server answers AUTH before STARTTLS with the non-standard "538". RFC 3207 4 and
// RFC 4954 4 name "530 5.7.0 Must issue a STARTTLS command first" for that case.
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

let installed = false;

export function installStarttlsReply(): void {
  if (installed) return;
  installed = true;
  const proto = (SMTPConnection as unknown as { prototype: { send: (...a: unknown[]) => void } }).prototype;
  const original = proto.send;
  proto.send = function (this: unknown, code: unknown, data: unknown, context: unknown) {
    if (code === 538) return original.call(this, 530, '5.7.0 Must issue a STARTTLS command first', context);
    return original.call(this, code, data, context);
  };
}
