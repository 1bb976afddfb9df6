import { z } from 'zod';
import { listener } from '../fields.js';

const idle = 'A client silent this long is disconnected (RFC 1939 3: at least 10 minutes).';

// Built-in ports are the standard ones + 10000, as for every listener (README "Ports"):
// `npm start` works unprivileged; production sets 110/995.

export const pop3Section = z
  .strictObject({
    starttls: listener(10110, [], 'POP3 with STLS (before TLS: no USER/PASS/AUTH unless `auth.loopbackIsSecure` and loopback).', 600, idle),
    tls: listener(10995, [], 'POP3 over implicit TLS.', 600, idle),
    maxLineBytes: z
      .number()
      .int()
      .min(255)
      .max(65536)
      .default(4096)
      .describe('Longest command line in octets, CRLF excluded (RFC 2449 4 sets 255 for commands; SASL responses can be longer). Longer lines get -ERR and are skipped.'),
    maxConnectionsPerIp: z
      .number()
      .int()
      .positive()
      .default(20)
      .describe('Connections open at once from one address, both POP3 listeners together.'),
    maxCommandsBeforeLogin: z
      .number()
      .int()
      .positive()
      .default(30)
      .describe('Commands a client may send before logging in; then it is disconnected.'),
    maxBadCommands: z
      .number()
      .int()
      .positive()
      .default(20)
      .describe('Invalid commands (unknown, bad syntax, wrong state, bad message number) in one session before it is disconnected.'),
  })
  .prefault({})
  .describe('POP3 access (RFC 1939) to the INBOX.');
