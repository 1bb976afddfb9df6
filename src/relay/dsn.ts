// Delivery status notifications (RFC 3464, multipart/report of RFC 6522) for the sender of
// a queued message: one "failed" report when recipients failed for good or expired, one
// "delayed" notice after the warning time. Built as pieces so the returned original
// message streams from the queue instead of being held in memory.
import { randomBytes } from 'node:crypto';

export interface DsnRecipient {
  address: string;
  orcpt?: string | undefined;
  action: 'failed' | 'delayed';
  /** RFC 3463 status, e.g. 5.1.1 */
  status: string;
  /** The remote reply or our reason, as an smtp diagnostic. */
  diagnostic?: string | undefined;
  remoteMta?: string | undefined;
}

export interface DsnInput {
  hostname: string;
  /** The original sender: the report's recipient. */
  to: string;
  queueId: string;
  envid?: string | undefined;
  arrival: Date;
  recipients: DsnRecipient[];
  now: Date;
  /** Whether the whole original follows (message/rfc822) or only its header (text/rfc822-headers). */
  full: boolean;
}

const fold = (s: string): string => s.replace(/[\r\n]+/g, ' ').slice(0, 900);
const rfcDate = (d: Date): string => d.toUTCString().replace('GMT', '+0000');

/** The report up to where the original goes, and what closes it after. */
export function buildDsn(input: DsnInput): { head: Buffer; tail: Buffer } {
  const boundary = `=_dsn_${randomBytes(9).toString('hex')}`;
  const delayed = input.recipients.every((r) => r.action === 'delayed');
  const subject = delayed ? 'Delayed Mail (still being retried)' : 'Undelivered Mail Returned to Sender';
  const human = delayed
    ? `Your message could not be delivered yet to the recipients below. The server keeps trying;\r\nyou need not send it again. You will be told if it fails for good.\r\n`
    : `Your message could not be delivered to the recipients below. This is permanent.\r\n`;
  const lines = input.recipients.map((r) => `  <${r.address}>: ${fold(r.diagnostic ?? r.status)}`).join('\r\n');

  const perMessage = [
    `Reporting-MTA: dns; ${input.hostname}`,
    ...(input.envid ? [`Original-Envelope-Id: ${fold(input.envid)}`] : []),
    `X-Queue-ID: ${input.queueId}`,
    `Arrival-Date: ${rfcDate(input.arrival)}`,
  ].join('\r\n');
  const perRcpt = input.recipients
    .map((r) =>
      [
        ...(r.orcpt ? [`Original-Recipient: ${fold(r.orcpt)}`] : []),
        `Final-Recipient: rfc822; ${r.address}`,
        `Action: ${r.action}`,
        `Status: ${r.status}`,
        ...(r.remoteMta ? [`Remote-MTA: dns; ${r.remoteMta}`] : []),
        ...(r.diagnostic ? [`Diagnostic-Code: smtp; ${fold(r.diagnostic)}`] : []),
        `Last-Attempt-Date: ${rfcDate(input.now)}`,
      ].join('\r\n'),
    )
    .join('\r\n\r\n');

  const head = [
    `From: Mail Delivery System <MAILER-DAEMON@${input.hostname}>`,
    `To: <${input.to}>`,
    `Subject: ${subject}`,
    `Date: ${rfcDate(input.now)}`,
    `Message-ID: <${randomBytes(12).toString('hex')}@${input.hostname}>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="${boundary}"`,
    '',
    'This is a MIME-encapsulated message.',
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Description: Notification',
    '',
    `This is the mail system at ${input.hostname}.`,
    '',
    human,
    lines,
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    'Content-Description: Delivery report',
    '',
    perMessage,
    '',
    perRcpt,
    '',
    `--${boundary}`,
    input.full ? 'Content-Type: message/rfc822' : 'Content-Type: text/rfc822-headers',
    `Content-Description: ${input.full ? 'Undelivered Message' : 'Undelivered Message Headers'}`,
    '',
    '',
  ].join('\r\n');
  return { head: Buffer.from(head, 'utf8'), tail: Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8') };
}
