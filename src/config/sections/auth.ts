import { z } from 'zod';

export const authSection = z
  .strictObject({
    loopbackIsSecure: z
      .boolean()
      .default(true)
      .describe('Treat loopback connections as secure, so IMAP/POP3/submission accept passwords there without TLS (as Dovecot does).'),
    maxFailuresPerIp: z.number().int().positive().default(10).describe('Failed logins from one address within `windowSeconds` before it is refused.'),
    maxFailuresPerUser: z.number().int().positive().default(10).describe('Failed logins for one user name within `windowSeconds` before it is refused.'),
    windowSeconds: z.number().int().positive().default(900).describe('How long a failure counts against an address or user.'),
    failureDelayMs: z.number().int().min(0).default(500).describe('Delay before answering, per recent failure (a tarpit for guessing loops).'),
    maxFailureDelayMs: z.number().int().min(0).default(5000).describe('Cap on that delay.'),
  })
  .prefault({})
  .describe('Password logins on every protocol (one throttle shared by IMAP, POP3 and submission).');
