// The relay thread (worker_threads entry): DKIM signing and the smart-host client run here,
// off the thread that accepts submissions. Both cost the accepting thread more than the
// whole SMTP intake did: TLS to the smart host, nodemailer's per-message streams, mailauth's
// hashing and the signature's hand-offs. The queue's bookkeeping stays on the main thread
// (relay-client.ts): it sends this thread one request per attempt and records the outcomes
// there, so durability (fsynced journal, removal as the final record) is unchanged.
//
// Protocol (structured clone over the parent port):
//   in:  { t: 'send', id, env, rcpts, body }   sign when env.dkim is set, then relay
//        { t: 'sign', id, env, body }          only sign (the message has local recipients)
//        { t: 'close' }                        close the pool and exit
//   out: { t: 'ready' } once, { t: 'done', id, outcomes?, dkim?, error? }, { t: 'log', line }
import { createReadStream } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import { createDkimSigning } from './dkim-sign.js';
import type { QueueEnvelope, QueueRecipient } from './queue-store.js';
import { createSmartHost, type RelayOutcome, type SmartHostConfig } from './smarthost.js';

/** Where the stored message bytes are: still in memory (just committed) or in the queue file. */
export interface StoredBody {
  chunks: Uint8Array[] | null;
  path: string;
  size: number;
}

export interface RelayThreadData {
  smartHost: SmartHostConfig;
  hostname: string;
  dkim: { keyDir: string; selectors: Record<string, string> } | null;
  logLevel: string;
}

export type RelayRequest =
  | { t: 'send'; id: number; env: QueueEnvelope; rcpts: QueueRecipient[]; body: StoredBody }
  | { t: 'sign'; id: number; env: QueueEnvelope; body: StoredBody }
  | { t: 'close' };

export type RelayReply =
  | { t: 'ready' }
  | { t: 'log'; line: string }
  | { t: 'done'; id: number; outcomes?: Array<[string, RelayOutcome]>; dkim?: string; error?: string };

const port = parentPort;
if (!port) throw new Error('relay-thread.js runs as a worker thread only');
const data = workerData as RelayThreadData;
const post = (m: RelayReply): void => port.postMessage(m);

// Log lines go to the main thread's logger (its redaction, its destination).
const log = pino({ level: data.logLevel, base: null, timestamp: false }, { write: (line: string) => post({ t: 'log', line }) });
const smartHost = await createSmartHost(data.smartHost, data.hostname);
const dkim = data.dkim ? createDkimSigning({ ...data.dkim, syncSign: true }) : null;

/** The stored bytes in one Buffer when they came in memory (small messages), else null. */
function whole(body: StoredBody): Buffer | null {
  if (!body.chunks) return null;
  return Buffer.concat(body.chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)));
}

const fromFile = (body: StoredBody): Readable => createReadStream(body.path, { start: 0, end: body.size - 1 });

/** DKIM-Signature lines for the stored bytes ('' without keys: then it goes out unsigned, as before). */
async function sign(env: QueueEnvelope, body: StoredBody, bytes: Buffer | null, qlog: pino.Logger): Promise<string> {
  const signer = env.dkim && dkim ? await dkim.signerFor(env.dkim, qlog) : null;
  if (!signer) return '';
  await pipeline(bytes ? Readable.from([bytes], { objectMode: false }) : fromFile(body), signer.sink);
  return signer.headers();
}

async function handle(req: Exclude<RelayRequest, { t: 'close' }>): Promise<RelayReply> {
  const qlog = log.child({ qid: req.env.id });
  const bytes = whole(req.body);
  const signed = req.env.dkim !== undefined ? await sign(req.env, req.body, bytes, qlog) : undefined;
  if (req.t === 'sign') return { t: 'done', id: req.id, dkim: signed ?? '' };
  const prefix = (signed ?? '') + req.env.prefix;
  // In memory: one Buffer, so the message goes to the smart host in a few large TLS writes
  // instead of one per received chunk.
  const message = bytes ? Buffer.concat([Buffer.from(prefix, 'utf8'), bytes]) : null;
  const open = (): Readable | Buffer => {
    if (message) return message;
    const out = new PassThrough();
    out.write(prefix);
    const b = fromFile(req.body);
    b.on('error', (err) => out.destroy(err));
    b.pipe(out);
    return out;
  };
  const outcomes = await smartHost.send({ ...req.env, prefix }, req.rcpts, open, qlog);
  return { t: 'done', id: req.id, outcomes: [...outcomes], ...(signed !== undefined ? { dkim: signed } : {}) };
}

// On close, attempts still running get their answer (closing the pool fails them as
// temporary) before the port closes and the thread ends.
let running = 0;
let closing = false;
port.on('message', (req: RelayRequest) => {
  if (req.t === 'close') {
    closing = true;
    smartHost.close();
    if (running === 0) port.close();
    return;
  }
  running++;
  handle(req)
    .then(post, (err: unknown) => post({ t: 'done', id: req.id, error: err instanceof Error ? err.message : String(err) }))
    .finally(() => {
      if (--running === 0 && closing) port.close();
    });
});
post({ t: 'ready' });
