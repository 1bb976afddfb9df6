import { z } from 'zod';
import { listener } from '../fields.js';

const idle = 'A client silent this long is logged out (RFC 3501 5.4: at least 30 minutes).';

export const imapSection = z
  .strictObject({
    starttls: listener(10143, [], 'IMAP with STARTTLS (before TLS: LOGINDISABLED unless `auth.loopbackIsSecure` and loopback).', 1800, idle),
    tls: listener(10993, [], 'IMAP over implicit TLS.', 1800, idle),
    hierarchyDelimiter: z
      .enum(['.', '/'])
      .default('.')
      .describe(
        "The hierarchy delimiter clients see. '.' as Dovecot's Maildir++ default, or '/' for set-ups that chose it. Folder names on disk stay Dovecot's either way; a name containing the other character is refused.",
      ),
    maxLineBytes: z
      .number()
      .int()
      .min(1024)
      .default(65_536)
      .describe('Longest command line (outside literals); a longer one is answered BAD [TOOBIG] without being kept in memory.'),
    maxLiteralBytes: z
      .number()
      .int()
      .min(1024)
      .default(25 * 1024 * 1024)
      .describe('Largest literal, so the largest APPEND (like delivery, 25 MB); a larger one is refused with [TOOBIG] before it is read.'),
    maxArgs: z
      .number()
      .int()
      .min(16)
      .default(1000)
      .describe('Most atoms, strings and literals in one command (sequence sets and numbers do not count); a long SEARCH or FETCH header list stays well below.'),
    maxCommandsBeforeLogin: z
      .number()
      .int()
      .positive()
      .default(20)
      .describe('Commands a connection may send before it logs in; then it is told BYE.'),
    maxConnectionsPerIp: z
      .number()
      .int()
      .positive()
      .default(20)
      .describe('IMAP connections open at once from one address (both listeners together); more are told BYE.'),
    outputBufferBytes: z
      .number()
      .int()
      .min(16_384)
      .default(1024 * 1024)
      .describe('When this much output waits for a client that is not reading, the session stops reading its commands until the client catches up.'),
  })
  .prefault({})
  .describe('IMAP access (RFC 3501/9051).');
