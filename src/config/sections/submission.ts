import { z } from 'zod';
import { listener } from '../fields.js';

/** Per-user overrides of the sender policy and limits (keys are user addresses). */
const userPolicy = z
  .strictObject({
    senders: z
      .enum(['own', 'aliases', 'any'])
      .optional()
      .describe('Which addresses this user may send as (see `submission.senders`).'),
    extraSenders: z
      .array(z.string().min(3))
      .default([])
      .describe('More addresses (or `@domain` for a whole domain) this user may send as.'),
    maxRecipients: z.number().int().positive().optional().describe('Overrides `submission.maxRecipients`.'),
    maxMessagesPerHour: z.number().int().min(0).optional().describe('Overrides `submission.maxMessagesPerHour`.'),
  })
  .describe('Sender policy and limits of one user.');

export const submissionSection = z
  .strictObject({
    starttls: listener(10587, [], 'Submission with STARTTLS required before AUTH and MAIL (RFC 6409).'),
    tls: listener(10465, [], 'Submission over implicit TLS (RFC 8314).'),
    maxMessageBytes: z
      .number()
      .int()
      .positive()
      .default(25 * 1024 * 1024)
      .describe('Largest message accepted (advertised in SIZE; 552 5.3.4 above).'),
    senders: z
      .enum(['own', 'aliases', 'any'])
      .default('aliases')
      .describe(
        'Envelope sender and From: must be: `own` the user\'s address (and its +tag forms), `aliases` that or an alias that delivers to the user, `any` anything (553 5.7.1 otherwise).',
      ),
    maxRecipients: z.number().int().positive().default(100).describe('Recipients per message (452 4.5.3 above).'),
    maxMessagesPerHour: z
      .number()
      .int()
      .min(0)
      .default(500)
      .describe('Messages one user may submit per hour, over all connections (0 = no limit; 451 4.7.1 above).'),
    users: z
      .record(z.string(), userPolicy)
      .default({})
      .describe('Per-user overrides, keyed by the user\'s address.'),
  })
  .prefault({})
  .describe('Mail submission by authenticated users.');
