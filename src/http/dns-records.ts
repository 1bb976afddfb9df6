// The DNS records a domain needs, as the admin UI and API show them. Inbound mail reaches
// this server through Cloudflare Email Routing (which publishes its own MX records when
// enabled) or directly; outbound goes through SendGrid, so SPF authorises SendGrid.
export interface DnsRecord {
  type: 'MX' | 'TXT';
  /** Fully qualified owner name, with the trailing dot. */
  name: string;
  value: string;
  note: string;
}

export interface DkimPublicKey {
  selector: string;
  /** The TXT value, e.g. `v=DKIM1; k=rsa; p=MIIB...` */
  txt: string;
}

export function dnsRecords(domain: string, hostname: string, dkim: DkimPublicKey[] = []): DnsRecord[] {
  const records: DnsRecord[] = [
    {
      type: 'MX',
      name: `${domain}.`,
      value: `10 ${hostname}.`,
      note: 'Where other servers deliver mail. With Cloudflare Email Routing, keep the MX records Cloudflare adds instead.',
    },
    {
      type: 'TXT',
      name: `${domain}.`,
      value: 'v=spf1 include:sendgrid.net ~all',
      note: 'SPF (RFC 7208): outgoing mail leaves through SendGrid; add "mx" or other senders if you use them.',
    },
  ];
  for (const k of dkim) {
    records.push({ type: 'TXT', name: `${k.selector}._domainkey.${domain}.`, value: k.txt, note: 'DKIM public key (RFC 6376 3.6.2).' });
  }
  records.push({
    type: 'TXT',
    name: `_dmarc.${domain}.`,
    value: `v=DMARC1; p=quarantine; rua=mailto:postmaster@${domain}`,
    note: 'DMARC (RFC 7489): start with p=none while you check the reports, then quarantine.',
  });
  return records;
}

/** One zone-file line per record, for a copy button or `nsupdate`. */
export function zoneLine(r: DnsRecord): string {
  const value = r.type === 'TXT' ? txtString(r.value) : r.value;
  return `${r.name} 3600 IN ${r.type} ${value}`;
}

/** TXT character-strings are at most 255 octets (RFC 1035 3.3.14): long DKIM keys are split. */
function txtString(v: string): string {
  const parts: string[] = [];
  for (let i = 0; i < v.length; i += 255) parts.push(`"${v.slice(i, i + 255).replace(/["\\]/g, '\\$&')}"`);
  return parts.join(' ');
}
