// A Dovecot whose INBOX holds files written straight into its Maildir, with a logged-in IMAP
// client that has INBOX selected: how the MIME and SEARCH comparisons put the same bytes
// in front of Dovecot and of us.
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ImapClient, startDovecot, type Dovecot } from './dovecot.js';

export interface MaildirFile {
  /** Relative to the mailbox: `new/<name>` or `cur/<name>:2,<flags>`. */
  name: string;
  data: Buffer;
  /** Also sets the file's mtime (Dovecot's INTERNALDATE). */
  mtime?: Date;
}

export interface DovecotInbox {
  dc: Dovecot;
  client: ImapClient;
  /** dovecot-uidlist after the files were picked up. */
  uidlist: string;
}

export async function startDovecotInbox(files: readonly MaildirFile[]): Promise<DovecotInbox> {
  const dc = await startDovecot();
  const client = await ImapClient.connect(dc.imapPort);
  await client.login(dc.user, dc.password);
  await client.command('SELECT INBOX');
  const box = path.join(dc.mailRoot, 'example.test', 'alice');
  await dc.asMailUser(async () => {
    for (const f of files) {
      const file = path.join(box, f.name);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, f.data);
      if (f.mtime) await utimes(file, f.mtime, f.mtime);
    }
  });
  // Selecting again makes Dovecot list the new files and give them UIDs.
  await client.command('SELECT INBOX');
  const uidlist = await readFile(path.join(box, 'dovecot-uidlist'), 'latin1');
  return { dc, client, uidlist };
}

/** For file names carrying `<marker><n>`: n → the UID Dovecot gave that file. */
export function uidsByMarker(uidlist: string, marker: string): Map<number, number> {
  const re = new RegExp(`^(\\d+) .*${marker}(\\d+)`);
  const out = new Map<number, number>();
  for (const line of uidlist.split('\n')) {
    const m = re.exec(line);
    if (m) out.set(Number(m[2]), Number(m[1]));
  }
  return out;
}
