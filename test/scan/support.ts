// Shared by the scanning tests: one LMTP transaction on the raw wire (so every
// per-recipient reply is seen as sent), the files that landed in Maildirs, and messages
// carrying EICAR in the body or inside a deflated zip attachment.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { LineClient } from '../helpers/line-client.js';
import { multipartMessage } from '../helpers/messages.js';
import { EICAR } from '../helpers/clamd.js';

/** LHLO, MAIL, one RCPT each, DATA; returns the per-recipient replies after the final dot. */
export async function lmtpSend(port: number, rcpts: string[], message: Buffer | string, from = 'sender@remote.test'): Promise<string[]> {
  const c = await LineClient.connect(port);
  try {
    await c.reply();
    c.send('LHLO client.test');
    await c.reply();
    expect250(await c.command(`MAIL FROM:<${from}>`));
    for (const r of rcpts) expect250(await c.command(`RCPT TO:<${r}>`));
    const data = await c.command('DATA');
    if (!data.startsWith('354')) throw new Error(`DATA: ${data}`);
    const body = Buffer.isBuffer(message) ? message : Buffer.from(message, 'latin1');
    // RFC 5321 4.5.2 dot-stuffing, then the terminating dot.
    c.write(Buffer.from(body.toString('latin1').replace(/^\./gm, '..'), 'latin1'));
    c.write(body.subarray(-2).toString('latin1') === '\r\n' ? '.\r\n' : '\r\n.\r\n');
    const replies: string[] = [];
    for (const _ of rcpts) replies.push((await c.reply(20_000)).at(-1)!);
    c.send('QUIT');
    return replies;
  } finally {
    c.close();
  }
}

function expect250(line: string): void {
  if (!line.startsWith('250')) throw new Error(`expected 250, got ${line}`);
}

/** Every message file in every folder of every Maildir under `mailRoot`, with its content. */
export async function storedMessages(mailRoot: string): Promise<Array<{ path: string; text: string }>> {
  const out: Array<{ path: string; text: string }> = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (/[/\\](new|cur)$/.test(dir)) out.push({ path: p, text: await readFile(p, 'latin1') });
    }
  };
  await walk(mailRoot);
  return out;
}

export function plainMessage(body: string, subject = 'hello'): string {
  return [`From: Sender <sender@remote.test>`, 'To: alice@example.test', `Subject: ${subject}`, 'Message-ID: <' + Math.random().toString(36).slice(2) + '@remote.test>', '', body, ''].join('\r\n');
}

export const eicarInBody = (): string => plainMessage(`Please run the attached test.\r\n${EICAR}\r\nThanks.`, 'eicar in body');

// CRC-32 (ISO-HDLC) for the zip entry; node 20's zlib has no crc32().
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * A one-file zip (PKWARE APPNOTE 4.3) whose entry is deflated, so the EICAR bytes appear in
 * the message only after base64 decoding and inflating: clamd has to unpack to find them.
 */
export function zipOf(name: string, content: Buffer): Buffer {
  const data = deflateRawSync(content);
  const fname = Buffer.from(name, 'latin1');
  const crc = crc32(content);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4); // version needed (deflate)
  local.writeUInt16LE(8, 8); // method: deflate
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(content.length, 22);
  local.writeUInt16LE(fname.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(content.length, 24);
  central.writeUInt16LE(fname.length, 28);
  central.writeUInt32LE(0, 42); // local header offset
  const cdOffset = local.length + fname.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + fname.length, 12);
  end.writeUInt32LE(cdOffset, 16);
  return Buffer.concat([local, fname, data, central, fname, end]);
}

export const eicarInZip = (): Buffer => multipartMessage({ to: 'alice@example.test', textBytes: 2000, attachment: zipOf('readme-test.com', Buffer.from(EICAR, 'latin1')) });
