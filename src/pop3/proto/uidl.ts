// UIDL values compatible with Dovecot's default `pop3_uidl_format = %08Xu%08Xv`: Dovecot
// 2.3 expands %X as lower-case hex, so the UID then the UIDVALIDITY, 8 digits each. Clients
// migrated from Dovecot keep their "already downloaded" lists (RFC 1939 7: stable across
// sessions). Both come from dovecot-uidlist, which survives restarts.
export function uidlOf(uid: number, uidValidity: number): string {
  return hex8(uid) + hex8(uidValidity);
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}
