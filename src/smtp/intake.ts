// Receives one submitted message into the queue, in a single pass over the DATA stream:
//
//   DATA bytes → line endings normalised (bare CR/LF → CRLF; NUL noted)
//             → header section held until its blank line: From: read, Date/Message-ID
//               added when missing (RFC 6409 8.2, 8.3)
//             → written to the queue's <id>.msg file
//   end       → size / NUL / From: policy decided → commit (trailer, fsync) → the caller
//               answers 250; the trailer names the DKIM domain, and the relay thread signs
//               from the stored bytes before the message leaves
//
// Nothing is buffered whole except the header section, which is capped.
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { DeliveryReply } from '../delivery/types.js';
import { reply } from '../delivery/types.js';
import type { QueueEnvelope, QueueRecipient, QueueStore, QueueWriter } from '../relay/queue-store.js';
import { newQueueId, SpoolFullError } from '../relay/queue-store.js';
import { headerAddresses, headerEnd, LineEndNormalizer, parseHeaderFields } from './headers.js';

/** Header sections larger than this are refused (Postfix's header_size_limit is 100 KiB). */
export const MAX_HEADER_BYTES = 256 * 1024;

export interface IntakeRequest {
  stream: Readable & { sizeExceeded?: boolean };
  queue: QueueStore;
  maxBytes: number;
  /** Room left under the spool quota (relay.maxSpoolBytes); Infinity without one. */
  spoolRoom: number;
  hostname: string;
  mailFrom: string;
  user: string;
  recipients: QueueRecipient[];
  dsn?: QueueEnvelope['dsn'];
  eightBit: boolean;
  smtpUtf8: boolean;
  /** Received: header line for this hop (CRLF-terminated). */
  received: string;
  /** Checks the From: addresses; a reply refuses the message. */
  checkFrom(addresses: string[]): Promise<DeliveryReply | null>;
  /** Whether mail from this From: domain is DKIM-signed (it has keys). */
  signs(domain: string): Promise<boolean>;
  /** Virus scan of the received bytes (issue 7, scan.clamav.scanSubmission); a reply refuses. */
  scan?(open: () => Readable, size: number): Promise<DeliveryReply | null>;
  log: Logger;
}

export type IntakeResult = { ok: true; env: QueueEnvelope } | { ok: false; reply: DeliveryReply };

/** Storage errors that mean "no room": the client is told 452 and keeps the message. */
const NO_SPACE = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'spool-full']);

export async function receiveMessage(req: IntakeRequest): Promise<IntakeResult> {
  const id = newQueueId();
  const norm = new LineEndNormalizer();
  let writer: QueueWriter | null = null;
  let header: Buffer[] | null = [];
  let headerBytes = 0;
  let refusal: DeliveryReply | null = null;
  let fromAddrs: string[] = [];
  let fromCount = 0;
  let dkimDomain = '';
  let received = 0;
  let storageError: unknown = null;

  const sink = async (chunk: Buffer): Promise<void> => {
    if (chunk.length === 0 || refusal || storageError) return;
    if (writer!.size + chunk.length > req.maxBytes) return; // counted below, answered at the end
    if (writer!.size + chunk.length > req.spoolRoom) {
      storageError = new SpoolFullError('spool quota reached during DATA');
      return;
    }
    try {
      await writer!.write(chunk);
    } catch (err) {
      storageError = err;
    }
  };

  const finishHeader = async (section: Buffer, rest: Buffer): Promise<void> => {
    header = null;
    const fields = parseHeaderFields(section);
    const from = fields.filter((f) => f.name === 'from');
    fromCount = from.length;
    fromAddrs = from.flatMap((f) => headerAddresses(f.value));
    const extra: string[] = [];
    // RFC 6409 8.2/8.3: a submission server may add a missing Date or Message-ID.
    if (!fields.some((f) => f.name === 'date')) extra.push(`Date: ${new Date().toUTCString().replace('GMT', '+0000')}`);
    if (!fields.some((f) => f.name === 'message-id')) extra.push(`Message-ID: <${randomBytes(12).toString('hex')}@${req.hostname}>`);
    const domain = fromAddrs.length === 1 ? fromAddrs[0]!.slice(fromAddrs[0]!.lastIndexOf('@') + 1) : '';
    if (domain && (await req.signs(domain))) dkimDomain = domain;
    const blank = section.length >= 2 ? section.subarray(section.length - 2) : Buffer.alloc(0);
    const fieldsPart = section.subarray(0, section.length - blank.length);
    const added = extra.length ? Buffer.from(extra.map((l) => `${l}\r\n`).join(''), 'utf8') : Buffer.alloc(0);
    await sink(Buffer.concat([fieldsPart, added, blank, rest]));
  };

  const feed = async (chunk: Buffer): Promise<void> => {
    if (!header) return sink(chunk);
    header.push(chunk);
    headerBytes += chunk.length;
    const all = Buffer.concat(header);
    header = [all];
    const end = headerEnd(all);
    if (end >= 0) return finishHeader(all.subarray(0, end), all.subarray(end));
    if (headerBytes > MAX_HEADER_BYTES) {
      refusal = reply(552, '5.3.4', 'Header section too large');
      header = null;
    }
  };

  try {
    writer = await req.queue.create(id);
    for await (const raw of req.stream as AsyncIterable<Buffer>) {
      received += raw.length;
      await feed(norm.push(raw));
    }
    await feed(norm.end());
    // A message without a blank line is all header.
    if (header) await finishHeader(Buffer.concat([Buffer.concat(header), Buffer.from('\r\n')]), Buffer.alloc(0));
  } catch (err) {
    // The client went away mid-DATA (smtp-server destroys the stream): nothing is queued.
    await writer?.abort();
    throw err;
  }

  const refuse = async (r: DeliveryReply): Promise<IntakeResult> => {
    await writer!.abort();
    return { ok: false, reply: r };
  };

  if (req.stream.sizeExceeded || received > req.maxBytes || writer.size > req.maxBytes) {
    req.log.info({ size: received, limit: req.maxBytes }, 'message over size limit');
    return refuse(reply(552, '5.3.4', `Message size exceeds fixed limit of ${req.maxBytes} bytes`));
  }
  if (storageError) {
    const code = (storageError as NodeJS.ErrnoException).code ?? '';
    if (NO_SPACE.has(code)) {
      req.log.warn({ code }, 'queue spool full');
      return refuse(reply(452, '4.3.1', 'Insufficient system storage, try again later'));
    }
    req.log.error({ err: storageError }, 'queue write failed');
    return refuse(reply(451, '4.3.0', 'Temporary failure, try again later'));
  }
  if (refusal) return refuse(refusal);
  if (norm.sawNul) {
    // RFC 5321 4.1.1.4 / 2.3.8: NUL is not text; relaying it would corrupt the message downstream.
    req.log.info('message with NUL refused');
    return refuse(reply(554, '5.6.0', 'Message contains NUL characters'));
  }
  if (fromCount !== 1 || fromAddrs.length === 0) {
    req.log.info({ fromHeaders: fromCount }, 'message without one From: refused');
    return refuse(reply(550, '5.6.0', 'Message must have exactly one From: header with an address (RFC 5322 3.6)'));
  }
  const policy = await req.checkFrom(fromAddrs);
  if (policy) return refuse(policy);
  if (norm.sawBareEol) req.log.info('bare CR or LF normalised to CRLF');

  // The body is complete. The DKIM signature is not part of the durable record: it is made
  // from the stored bytes alone, so the trailer names the domain (`dkim`) and the relay
  // thread signs the message before it leaves (queue worker, relay-thread.ts). Nothing of
  // the signing runs on this thread, and the 250 waits for the fsync only.
  // The virus scan reads the uncommitted file back (never the memory). One fsync, after the
  // trailer (commit()).
  const size = writer.size;
  if (req.scan) await writer.flush(); // the scanner reads the file: the tail must be in it
  const infected = await req.scan?.(() => createReadStream(req.queue.msgPath(id), { start: 0, end: Math.max(0, size - 1) }), size);
  if (infected) return refuse(infected);
  try {
    const env = await writer.commit({
      mailFrom: req.mailFrom,
      user: req.user,
      recipients: req.recipients,
      ...(req.dsn ? { dsn: req.dsn } : {}),
      prefix: req.received,
      ...(dkimDomain ? { dkim: dkimDomain } : {}),
      createdAt: Date.now(),
      eightBit: req.eightBit,
      smtpUtf8: req.smtpUtf8,
    });
    return { ok: true, env };
  } catch (err) {
    await writer.abort();
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (NO_SPACE.has(code)) {
      req.log.warn({ code }, 'queue spool full');
      return { ok: false, reply: reply(452, '4.3.1', 'Insufficient system storage, try again later') };
    }
    throw err;
  }
}
