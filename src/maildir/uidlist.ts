// dovecot-uidlist, version 3 (Dovecot src/lib-storage/index/maildir/maildir-uidlist.c):
//   3 V<uidvalidity> N<nextuid> G<mailbox guid hex> [other header fields]
//   <uid> [extension fields, e.g. W<vsize> S<size>] :<base name>
// Dovecot appends new records without rewriting the header, so N may lag behind the
// last UID: the next UID is max(N, last UID + 1). Parsing and serialising are pure.

export interface UidRecord {
  uid: number;
  baseName: string;
  /** Extension fields as written ("W1234", "S1200", "G..."), kept verbatim. */
  ext: string[];
}

export interface Uidlist {
  version: 3;
  uidValidity: number;
  /** The N header field as read; use nextUid() for the effective value. */
  headerNextUid: number;
  guid: string;
  /** Header fields we do not interpret, kept for the rewrite. */
  headerExtra: string[];
  records: UidRecord[];
}

export class UidlistParseError extends Error {}

export function parseUidlist(text: string): Uidlist {
  const lines = text.split('\n');
  const header = lines[0] ?? '';
  const fields = header.trim().split(/\s+/);
  let uidValidity = 0;
  let headerNextUid = 1;
  let guid = '';
  const headerExtra: string[] = [];
  const version = fields[0];
  if (version === '3') {
    for (const f of fields.slice(1)) {
      const key = f[0];
      const value = f.slice(1);
      if (key === 'V') uidValidity = Number(value);
      else if (key === 'N') headerNextUid = Number(value);
      else if (key === 'G') guid = value;
      else if (f.length > 0) headerExtra.push(f);
    }
  } else if (version === '1') {
    // Version 1: "1 <uidvalidity> <nextuid>"; records "<uid> <flags> <filename>".
    uidValidity = Number(fields[1]);
    headerNextUid = Number(fields[2]);
  } else {
    throw new UidlistParseError(`unsupported dovecot-uidlist version ${JSON.stringify(version)}`);
  }
  if (!Number.isSafeInteger(uidValidity) || uidValidity <= 0 || !Number.isSafeInteger(headerNextUid)) {
    throw new UidlistParseError('bad dovecot-uidlist header');
  }
  const records: UidRecord[] = [];
  let last = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.length === 0) continue;
    const rec = version === '3' ? parseV3Record(line) : parseV1Record(line);
    // Dovecot treats a UID that does not grow as corruption; skip such lines.
    if (!rec || rec.uid <= last) continue;
    last = rec.uid;
    records.push(rec);
  }
  return { version: 3, uidValidity, headerNextUid, guid, headerExtra, records };
}

function parseV3Record(line: string): UidRecord | null {
  const sep = line.indexOf(' :');
  if (sep < 0) return null;
  const head = line.slice(0, sep).split(' ');
  const uid = Number(head[0]);
  const baseName = line.slice(sep + 2);
  if (!Number.isSafeInteger(uid) || uid <= 0 || baseName.length === 0) return null;
  return { uid, baseName, ext: head.slice(1).filter((x) => x.length > 0) };
}

function parseV1Record(line: string): UidRecord | null {
  const parts = line.split(' ');
  const uid = Number(parts[0]);
  const baseName = parts[parts.length - 1];
  if (!Number.isSafeInteger(uid) || uid <= 0 || !baseName || parts.length < 2) return null;
  return { uid, baseName: baseName.split(':')[0]!, ext: [] };
}

export function nextUid(list: Uidlist): number {
  const lastUid = list.records.length > 0 ? list.records[list.records.length - 1]!.uid : 0;
  return Math.max(list.headerNextUid, lastUid + 1);
}

export function serializeRecord(rec: UidRecord): string {
  const ext = rec.ext.length > 0 ? ' ' + rec.ext.join(' ') : '';
  return `${rec.uid}${ext} :${rec.baseName}\n`;
}

export function serializeUidlist(list: Uidlist): string {
  const header = ['3', `V${list.uidValidity}`, `N${nextUid(list)}`];
  if (list.guid) header.push(`G${list.guid}`);
  header.push(...list.headerExtra);
  return header.join(' ') + '\n' + list.records.map(serializeRecord).join('');
}
