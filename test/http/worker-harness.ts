// Runs examples/cloudflare-email-worker.js under Node as Email Routing would: a message
// object shaped like Cloudflare's ForwardableEmailMessage (from, to, headers, raw as a
// ReadableStream, rawSize, setReject), streamed in chunks.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import worker from '../../examples/cloudflare-email-worker.js';

export interface WorkerRun {
  /** setReject's reason when the Worker refused the message. */
  rejected: string | null;
  /** The error the Worker threw (Email Routing then answers with a temporary failure). */
  thrown: Error | null;
}

export function rawMessage(opts: { from?: string; to?: string; subject?: string; id?: string; bodyBytes?: number } = {}): Buffer {
  const head = [
    `From: ${opts.from ?? 'sender@example.org'}`,
    `To: ${opts.to ?? 'alice@example.com'}`,
    `Subject: ${opts.subject ?? 'hello over https'}`,
    `Message-ID: <${opts.id ?? `${Math.random().toString(36).slice(2)}@example.org`}>`,
    'Date: Mon, 23 Nov 2026 01:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    '',
  ].join('\r\n');
  const line = 'The quick brown fox jumps over the lazy dog 0123456789 abcdefghij.\r\n';
  const body = opts.bodyBytes ? line.repeat(Math.ceil(opts.bodyBytes / line.length)) : 'Hello from the edge.\r\n';
  return Buffer.from(head + body, 'utf8');
}

function headersOf(raw: Buffer): Headers {
  const end = raw.indexOf('\r\n\r\n');
  const h = new Headers();
  for (const line of raw.subarray(0, end).toString('utf8').split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) h.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return h;
}

export async function runWorker(
  env: { INGEST_URL: string; INGEST_TOKEN: string },
  msg: { from: string; to: string; raw: Buffer },
  chunkSize = 16 * 1024,
): Promise<WorkerRun> {
  let offset = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= msg.raw.length) return controller.close();
      controller.enqueue(new Uint8Array(msg.raw.subarray(offset, offset + chunkSize)));
      offset += chunkSize;
    },
  });
  const run: WorkerRun = { rejected: null, thrown: null };
  const message = {
    from: msg.from,
    to: msg.to,
    headers: headersOf(msg.raw),
    raw: stream,
    rawSize: msg.raw.length,
    setReject(reason: string) {
      run.rejected = reason;
    },
  };
  try {
    await worker.email(message, env);
  } catch (err) {
    run.thrown = err as Error;
  }
  return run;
}

/** Messages in a user's INBOX (new + cur). */
export async function inboxCount(mailRoot: string, address: string): Promise<number> {
  const [local, domain] = address.split('@') as [string, string];
  let n = 0;
  for (const sub of ['new', 'cur']) {
    n += await readdir(join(mailRoot, domain, local, sub)).then((f) => f.length, () => 0);
  }
  return n;
}
