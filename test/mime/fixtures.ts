// The MIME torture set: hand-written files in fixtures/ (exact bytes, mixed line ends) plus
// messages built by the shared helpers. `stored` is what the Maildir store keeps (LF form).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LfNormalizer } from '../../src/maildir/normalize.js';
import { japaneseMessage, multipartMessage } from '../helpers/messages.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

export interface Fixture {
  name: string;
  /** Stored form (as our Maildir store and Dovecot with mail_save_crlf=no keep it). */
  stored: Buffer;
}

export function store(raw: Buffer): Buffer {
  const n = new LfNormalizer();
  return Buffer.concat([n.push(raw), n.end()]);
}

export function loadFixtures(): Fixture[] {
  const out: Fixture[] = readdirSync(dir)
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .map((f) => ({ name: f, stored: store(readFileSync(path.join(dir, f))) }));
  out.push({ name: 'builder-japanese', stored: store(japaneseMessage({ id: 'jp1' })) });
  out.push({ name: 'builder-multipart', stored: store(multipartMessage({ id: 'mp1', attachmentBytes: 3000, textBytes: 600 })) });
  out.push({ name: 'builder-multipart-text', stored: store(multipartMessage({ id: 'mp2', textBytes: 200 })) });
  return out;
}

/** The CRLF form IMAP serves: every LF not preceded by CR becomes CRLF. */
export function crlfForm(stored: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < stored.length; i++) {
    if (stored[i] === 0x0a && (i === 0 || stored[i - 1] !== 0x0d)) out.push(0x0d);
    out.push(stored[i]!);
  }
  return Buffer.from(out);
}
