// Test helper: feed bytes to a Receiver at every chunk size from 1 to 512 and check that
// the same events come out (STYLE.md rule 1). Pausing requests are drained as a session
// would: expectRawLine() after IDLE, then push(empty).
import { isDeepStrictEqual } from 'node:util';
import { expect } from 'vitest';
import { Receiver, type ReceiverEvent, type ReceiverLimits } from '../../../src/imap/proto/receiver.js';
import type { Command, Request } from '../../../src/imap/proto/types.js';

export const LIMITS: ReceiverLimits = { maxLineBytes: 8192, maxLiteralBytes: 65536 };

function drain(r: Receiver, events: ReceiverEvent[], out: ReceiverEvent[]): void {
  out.push(...events);
  while (r.isPaused) {
    const last = out[out.length - 1];
    if (last?.type === 'request' && last.request.ok && last.request.command.name === 'IDLE') r.expectRawLine();
    out.push(...r.push(Buffer.alloc(0)));
  }
}

/** Events for `input` fed in chunks of `size` bytes. */
export function feed(input: Buffer, size: number, limits: ReceiverLimits = LIMITS): ReceiverEvent[] {
  const r = new Receiver(limits);
  const out: ReceiverEvent[] = [];
  for (let i = 0; i < input.length; i += size) drain(r, r.push(input.subarray(i, i + size)), out);
  return out;
}

/** Events for `input`, asserted identical at every chunk size 1..512 (or up to the input length). */
export function replay(input: string | Buffer, limits: ReceiverLimits = LIMITS): ReceiverEvent[] {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const whole = feed(bytes, Math.max(bytes.length, 1), limits);
  const max = Math.min(512, Math.max(bytes.length, 1));
  for (let size = 1; size <= max; size++) {
    const got = feed(bytes, size, limits);
    if (!eventsEqual(got, whole)) expect(got, `chunk size ${size}`).toEqual(whole);
  }
  return whole;
}

// Fast path for the 512 replays; expect() gives the readable diff when they differ.
const eventsEqual = (a: ReceiverEvent[], b: ReceiverEvent[]): boolean => isDeepStrictEqual(a, b);

/** The requests among the events (asserting there is nothing else but continuations). */
export function requests(input: string | Buffer, limits?: ReceiverLimits): Request[] {
  const ev = replay(input, limits);
  const out: Request[] = [];
  for (const e of ev) {
    if (e.type === 'request') out.push(e.request);
    else if (e.type !== 'continue') throw new Error(`unexpected event ${JSON.stringify(e)}`);
  }
  return out;
}

/** The one command `input` (a single request, CRLF added) parses to. */
export function command(input: string | Buffer): Command {
  const line = typeof input === 'string' ? Buffer.from(`${input}\r\n`, 'utf8') : input;
  const reqs = requests(line);
  expect(reqs).toHaveLength(1);
  const r = reqs[0]!;
  if (!r.ok) throw new Error(`BAD ${r.error} for ${JSON.stringify(line.toString('latin1'))}`);
  return r.command;
}

/** The BAD text `input` (a single request) gets. */
export function bad(input: string): string {
  const reqs = requests(`${input}\r\n`);
  expect(reqs).toHaveLength(1);
  const r = reqs[0]!;
  if (r.ok) throw new Error(`expected BAD for ${JSON.stringify(input)}, got ${JSON.stringify(r.command)}`);
  return r.error;
}
