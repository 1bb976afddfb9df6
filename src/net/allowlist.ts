// CIDR allowlists for listeners. A connection from outside the list is closed before
// the greeting (LMTP has no authentication, so its list is its only gate).
import ipaddr from 'ipaddr.js';

export type AddressFilter = (remoteAddress: string | undefined) => boolean;

/** Throws with the offending entry when a CIDR does not parse. */
export function parseCidr(entry: string): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  const trimmed = entry.trim();
  if (trimmed.includes('/')) return ipaddr.parseCIDR(trimmed);
  const addr = ipaddr.parse(trimmed);
  return [addr, addr.kind() === 'ipv4' ? 32 : 128];
}

/** An empty or absent list allows everyone; otherwise only addresses inside one of the ranges. */
export function createAddressFilter(cidrs: readonly string[] | undefined | null): AddressFilter {
  if (!cidrs || cidrs.length === 0) return () => true;
  const ranges = cidrs.map(parseCidr);
  return (remote) => {
    if (!remote) return false;
    let addr: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      addr = ipaddr.process(remote); // unwraps ::ffff:127.0.0.1 to IPv4
    } catch {
      return false;
    }
    return ranges.some(([net, bits]) => addr.kind() === net.kind() && addr.match(net, bits));
  };
}

/** Loopback peers count as "secure" for plaintext AUTH, as in Dovecot. */
export function isLoopback(remote: string | undefined): boolean {
  if (!remote) return false;
  try {
    return ipaddr.process(remote).range() === 'loopback';
  } catch {
    return false;
  }
}
