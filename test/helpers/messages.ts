// Realistic test messages, including the Japanese encodings our users receive.
import iconv from 'iconv-lite';
import Encoding from 'encoding-japanese';
import { randomBytes } from 'node:crypto';

/** ISO-2022-JP (JIS) bytes; iconv-lite has no encoder for this stateful charset. */
export function toIso2022jp(text: string): Buffer {
  return Buffer.from(Encoding.convert(Encoding.stringToCode(text), { to: 'JIS', from: 'UNICODE' }));
}

/** RFC 2047 B-encoding of a Japanese subject in ISO-2022-JP, as Japanese MUAs send it. */
export function isoJpSubject(text: string): string {
  return `=?ISO-2022-JP?B?${toIso2022jp(text).toString('base64')}?=`;
}

export function japaneseMessage(opts: { from?: string; to?: string; subject?: string; id?: string } = {}): Buffer {
  const body = toIso2022jp('お世話になっております。\r\n添付の資料をご確認ください。\r\n');
  const head = [
    `From: ${isoJpSubject('山田太郎')} <${opts.from ?? 'taro@example.jp'}>`,
    `To: ${opts.to ?? 'alice@example.test'}`,
    `Subject: ${isoJpSubject(opts.subject ?? '会議の資料について')}`,
    `Date: Sun, 22 Nov 2026 10:00:00 +0900`,
    `Message-ID: <${opts.id ?? randomBytes(8).toString('hex')}@example.jp>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=ISO-2022-JP',
    'Content-Transfer-Encoding: 7bit',
    '',
    '',
  ].join('\r\n');
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/**
 * A multipart message with a Shift_JIS part and a binary attachment of `attachmentBytes`.
 * `text` replaces the Shift_JIS part's content (its last CRLF belongs to the boundary),
 * `attachment` gives the attachment's bytes; `id: null` leaves out the Message-ID.
 */
export function multipartMessage(
  opts: { to?: string; attachmentBytes?: number; textBytes?: number; id?: string | null; boundary?: string; text?: Buffer; attachment?: Buffer } = {},
): Buffer {
  const boundary = opts.boundary ?? `b-${randomBytes(6).toString('hex')}`;
  const filler = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n';
  const text =
    opts.text ??
    Buffer.concat([
      iconv.encode('見積書を送付いたします。よろしくお願いいたします。\r\n', 'Shift_JIS'),
      Buffer.from(filler.repeat(Math.max(1, Math.ceil((opts.textBytes ?? 8000) / filler.length))), 'latin1'),
    ]);
  const attachment = opts.attachment ?? (opts.attachmentBytes ? randomBytes(opts.attachmentBytes) : undefined);
  const parts: Buffer[] = [
    Buffer.from(
      [
        'From: Sales <sales@example.jp>',
        `To: ${opts.to ?? 'alice@example.test'}`,
        `Subject: =?Shift_JIS?B?${iconv.encode('お見積り', 'Shift_JIS').toString('base64')}?=`,
        'Date: Sun, 22 Nov 2026 10:00:00 +0900',
        ...(opts.id === null ? [] : [`Message-ID: <${opts.id ?? randomBytes(8).toString('hex')}@example.jp>`]),
        'MIME-Version: 1.0',
        `Content-Type: multipart/mixed; boundary="${boundary}"`,
        '',
        `--${boundary}`,
        'Content-Type: text/plain; charset=Shift_JIS',
        'Content-Transfer-Encoding: 8bit',
        '',
        '',
      ].join('\r\n'),
      'latin1',
    ),
    text,
    Buffer.from(`\r\n--${boundary}\r\n`, 'latin1'),
  ];
  if (attachment) {
    const b64 = attachment.toString('base64').replace(/.{76}/g, '$&\r\n');
    parts.push(
      Buffer.from(
        [
          'Content-Type: application/pdf; name="mitsumori.pdf"',
          "Content-Disposition: attachment; filename*=UTF-8''%E8%A6%8B%E7%A9%8D.pdf",
          'Content-Transfer-Encoding: base64',
          '',
          b64,
          `--${boundary}--`,
          '',
        ].join('\r\n'),
        'latin1',
      ),
    );
  } else {
    parts.push(Buffer.from(`Content-Type: text/plain\r\n\r\nend\r\n--${boundary}--\r\n`, 'latin1'));
  }
  return Buffer.concat(parts);
}
