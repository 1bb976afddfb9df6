// Shared by the backup tests: LMTP delivery with nodemailer (a real LMTP client) and a
// snapshot of what IMAP shows (imapflow): per mailbox UIDVALIDITY and uid → flags by Message-ID.
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import type { TestServer } from '../helpers/app.js';

export function lmtpTransport(srv: TestServer) {
  return nodemailer.createTransport({ host: '127.0.0.1', port: srv.lmtpPort, lmtp: true, secure: false, ignoreTLS: true } as never);
}

export async function deliver(srv: TestServer, to: string, id: string, body = 'hello'): Promise<void> {
  await lmtpTransport(srv).sendMail({
    from: 'sender@remote.test',
    to,
    subject: `message ${id}`,
    messageId: `<${id}@test>`,
    text: body,
  });
}

export async function imapClient(srv: TestServer, user: string, pass: string): Promise<ImapFlow> {
  const c = new ImapFlow({ host: '127.0.0.1', port: srv.port('imap'), secure: false, doSTARTTLS: true, tls: { rejectUnauthorized: false }, auth: { user, pass }, logger: false });
  await c.connect();
  return c;
}

export interface MailboxState {
  uidValidity: string;
  /** Message-ID → { uid, flags (sorted, without the per-session \Recent) }. */
  messages: Map<string, { uid: number; flags: string[] }>;
}

export async function imapState(srv: TestServer, user: string, pass: string): Promise<Map<string, MailboxState>> {
  const c = await imapClient(srv, user, pass);
  const out = new Map<string, MailboxState>();
  try {
    for (const mb of await c.list()) {
      const lock = await c.getMailboxLock(mb.path);
      try {
        const mailbox = c.mailbox as { uidValidity: bigint; exists: number };
        const messages = new Map<string, { uid: number; flags: string[] }>();
        if (mailbox.exists > 0) {
          for await (const m of c.fetch('1:*', { uid: true, flags: true, envelope: true })) {
            messages.set(m.envelope?.messageId ?? `?${m.uid}`, { uid: m.uid, flags: [...(m.flags ?? [])].filter((f) => f !== '\\Recent').sort() });
          }
        }
        out.set(mb.path, { uidValidity: String(mailbox.uidValidity), messages });
      } finally {
        lock.release();
      }
    }
  } finally {
    await c.logout();
  }
  return out;
}
