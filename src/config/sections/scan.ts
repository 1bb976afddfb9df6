import { z } from 'zod';
import { secretString } from '../fields.js';

/** What to do when a scanner is down, slow or answers garbage (issue 7, part 4). */
const onFailure = () =>
  z
    .enum(['tempfail', 'accept'])
    .default('tempfail')
    .describe('When the scanner is unreachable, times out or answers garbage: `tempfail` answers 451 4.7.0 so the sender retries; `accept` delivers unscanned with an `X-Scan-Skipped` header.');

const spamUser = z
  .strictObject({
    junk: z.boolean().optional().describe('Overrides `scan.rspamd.junk` for this user.'),
    threshold: z.number().optional().describe('Score at or above which this user\'s copy goes to Junk and below which it stays in INBOX, whatever Rspamd\'s action (a refusal still refuses).'),
  })
  .describe('Spam settings of one user.');

export const scanSection = z
  .strictObject({
    clamav: z
      .strictObject({
        host: z.string().min(1).optional().describe('clamd host (TCP). Scanning is off while unset.'),
        port: z.number().int().min(1).max(65535).default(3310).describe('clamd TCP port.'),
        timeoutSeconds: z.number().positive().default(30).describe('Longest wait for a verdict (the whole INSTREAM exchange).'),
        chunkBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(64 * 1024).describe('INSTREAM chunk size.'),
        maxStreamBytes: z
          .number()
          .int()
          .positive()
          .default(25 * 1024 * 1024)
          .describe('clamd\'s `StreamMaxLength`: a larger message is not sent whole (clamd would refuse it) and is handled as `onFailure` says.'),
        onFailure: onFailure(),
        scanSubmission: z.boolean().default(true).describe('Also scan mail submitted by users (587/465); 554 5.7.1 when infected.'),
        pingCacheSeconds: z
          .number()
          .min(0)
          .default(5)
          .describe('How long a PING result is reused by /readyz and /healthz, so that probes do not hammer clamd.'),
      })
      .prefault({})
      .describe('ClamAV over clamd\'s TCP protocol (INSTREAM, PING).'),
    rspamd: z
      .strictObject({
        url: z.string().url().optional().describe('Rspamd normal worker, e.g. `http://127.0.0.1:11333`. Spam checks are off while unset.'),
        controllerUrl: z.string().url().optional().describe('Rspamd controller for learning, e.g. `http://127.0.0.1:11334`. Learning is off while unset.'),
        controllerPassword: secretString().optional().describe('Controller password (sent as the `Password` header).'),
        timeoutSeconds: z.number().positive().default(20).describe('Longest wait for /checkv2.'),
        onFailure: onFailure(),
        rejectAction: z.enum(['reject', 'junk']).default('reject').describe('Rspamd\'s `reject` action: refuse with 550 5.7.1, or deliver to Junk.'),
        junk: z.boolean().default(true).describe('Deliver `add header` / `rewrite subject` mail to the recipient\'s Junk folder (otherwise INBOX, with the headers).'),
        users: z.record(z.string(), spamUser).default({}).describe('Per-user spam settings, keyed by the user\'s address.'),
        learnRetries: z.number().int().min(0).default(5).describe('Retries (after the first attempt) of a learn request the controller did not take (unreachable, timeout, 5xx) before it is dropped (logged).'),
        learnBackoffSeconds: z.number().positive().default(10).describe('Wait before the first retry of a learn request; doubled for each further retry (at most 10 minutes).'),
        learnQueueSize: z
          .number()
          .int()
          .min(1)
          .default(1000)
          .describe('Learn requests waiting in memory (one per moved message); beyond this, new ones are dropped (logged). Pending learns are lost when the server stops.'),
      })
      .prefault({})
      .describe('Rspamd over its HTTP protocol (/checkv2), and learning from the user\'s moves to and from Junk.'),
  })
  .prefault({})
  .describe('Inbound (and optionally outbound) scanning with ClamAV and Rspamd, both separate services.');
