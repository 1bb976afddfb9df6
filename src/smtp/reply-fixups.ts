// Two corrections to smtp-server's replies on the submission listeners:
// - AUTH before STARTTLS gets the non-standard "538"; RFC 3207 4 and RFC 4954 4 name
//   "530 5.7.0 Must issue a STARTTLS command first".
// - EHLO advertises AUTH even where it will be refused for want of TLS. Where a password
//   may not travel in the clear, AUTH is left out of EHLO until TLS is up (as Postfix's
//   smtpd_tls_auth_only does), so clients are not tempted to try.
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

let installed = false;

interface Conn {
  secure: boolean;
  _server: { options: { lmtp?: boolean; allowInsecureAuth?: boolean; hideSTARTTLS?: boolean } };
}

export function installStarttlsReply(): void {
  if (installed) return;
  installed = true;
  const proto = (SMTPConnection as unknown as { prototype: { send: (...a: unknown[]) => void } }).prototype;
  const original = proto.send;
  proto.send = function (this: Conn, code: unknown, data: unknown, context: unknown) {
    if (code === 538) return original.call(this, 530, '5.7.0 Must issue a STARTTLS command first', context);
    const o = this._server?.options;
    if (code === 250 && Array.isArray(data) && !this.secure && o && !o.lmtp && !o.allowInsecureAuth && !o.hideSTARTTLS) {
      return original.call(this, code, (data as string[]).filter((l) => !/^AUTH /.test(l)), context);
    }
    return original.call(this, code, data, context);
  };
}
