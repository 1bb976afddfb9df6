// A real client's view of our FETCH and SEARCH: imapflow parses BODYSTRUCTURE and ENVELOPE,
// decodes RFC 2047/2231 names, downloads single parts (undoing base64 and the charset) and
// sends UTF-8 searches, as webmail and mobile stacks built on it do.
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import iconv from 'iconv-lite';
import type { TestServer } from '../helpers/app.js';
import { japaneseMessage, multipartMessage } from '../helpers/messages.js';
import { PASS, USER, startImapServer } from './client.js';
import { crlfForm, loadFixtures } from '../mime/fixtures.js';

let srv: TestServer;
let client: ImapFlow;
const attachment = randomBytes(30_000);
const withAttachment = multipartMessage({
  id: null,
  boundary: 'b-imapflow',
  text: iconv.encode('見積書を送付いたします。', 'Shift_JIS'),
  attachment,
});

async function text(stream: AsyncIterable<unknown> | undefined): Promise<Buffer> {
  if (!stream) throw new Error('no content stream');
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  srv = await startImapServer();
  client = new ImapFlow({ host: '127.0.0.1', port: srv.port('imap'), secure: false, doSTARTTLS: true, tls: { rejectUnauthorized: false }, auth: { user: USER, pass: PASS }, logger: false });
  await client.connect();
  await client.append('INBOX', japaneseMessage({ subject: '会議の資料について', id: 'jp1' }));
  await client.append('INBOX', withAttachment);
  await client.append('INBOX', crlfForm(loadFixtures().find((f) => f.name === 'nested.eml')!.stored));
  await client.mailboxOpen('INBOX');
});
afterAll(async () => {
  await client?.logout().catch(() => undefined);
  await srv?.stop();
});

describe('imapflow reading MIME from our server', () => {
  it('decodes the ENVELOPE: ISO-2022-JP and Shift_JIS subjects and names', async () => {
    const one = await client.fetchOne('1', { envelope: true });
    expect(one && one.envelope?.subject).toBe('会議の資料について');
    expect(one && one.envelope?.from?.[0]).toMatchObject({ name: '山田太郎', address: 'taro@example.jp' });
    const two = await client.fetchOne('2', { envelope: true });
    expect(two && two.envelope?.subject).toBe('お見積り');
  });

  it('walks BODYSTRUCTURE and downloads parts with transfer encoding and charset undone', async () => {
    const m = await client.fetchOne('2', { bodyStructure: true });
    const nodes = m ? m.bodyStructure?.childNodes ?? [] : [];
    expect(nodes.map((n) => [n.part, n.type])).toEqual([
      ['1', 'text/plain'],
      ['2', 'application/pdf'],
    ]);
    expect(nodes[1]?.dispositionParameters?.filename).toBe('見積.pdf');
    const pdf = await client.download('2', '2');
    expect((await text(pdf.content)).equals(attachment)).toBe(true);
    const body = await client.download('2', '1');
    expect((await text(body.content)).toString('utf8')).toBe('見積書を送付いたします。'); // the last CRLF belongs to the boundary
    // A ranged download uses a partial FETCH.
    const head = await client.download('2', '2', { maxBytes: 1000 });
    expect((await text(head.content)).length).toBeLessThanOrEqual(1000);
  });

  it('nested message/rfc822 parts: numbering and download inside the attached message', async () => {
    const m = await client.fetchOne('3', { bodyStructure: true });
    const fwd = m ? m.bodyStructure?.childNodes?.[1] : undefined;
    expect(fwd?.type).toBe('message/rfc822');
    expect(fwd?.envelope?.subject).toBe('inner message');
    const inner = await client.download('3', '2.1');
    expect((await text(inner.content)).toString()).toBe('inner text');
    const deepest = await client.download('3', '2.2.1');
    expect((await text(deepest.content)).toString()).toBe('deepest body');
  });

  it('searches in UTF-8: Japanese subject, Shift_JIS body, headers', async () => {
    expect(await client.search({ subject: '会議' })).toEqual([1]);
    expect(await client.search({ body: '見積書を送付' })).toEqual([2]);
    expect(await client.search({ header: { 'content-type': 'multipart/mixed' } })).toEqual([2, 3]);
    expect(await client.search({ or: [{ subject: 'お見積り' }, { body: 'deepest' }] })).toEqual([2, 3]);
  });
});
