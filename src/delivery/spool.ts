// Reads an inbound message exactly once. Small messages stay in memory; larger ones
// spill to a spool file, so one message read for many recipients costs one pass over
// the network and memory stays bounded whatever the message size.
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';

/** Messages up to this size are kept in memory (Dovecot's LMTP does the same below 128 KiB). */
export const IN_MEMORY_LIMIT = 128 * 1024;

const madeDirs = new Set<string>();

export interface SpooledMessage {
  /** Bytes received (whole message even when over the limit, so logs show the real size). */
  readonly size: number;
  /** True when the message exceeded maxBytes; its content was discarded. */
  readonly exceeded: boolean;
  /** Opens a fresh stream of the stored bytes. */
  open(): Readable;
  /** Removes the spool file, if any. Safe to call twice. */
  dispose(): Promise<void>;
}

export async function spoolMessage(
  input: Readable,
  opts: { spoolDir: string; maxBytes: number; inMemoryLimit?: number },
): Promise<SpooledMessage> {
  const memLimit = opts.inMemoryLimit ?? IN_MEMORY_LIMIT;
  const chunks: Buffer[] = [];
  let size = 0;
  let exceeded = false;
  let file: WriteStream | null = null;
  let filePath: string | null = null;
  // Every write error is caught here: a write still pending when the stream is destroyed (the
  // size limit hit mid-spill) or a full disk would otherwise be an uncaught 'error' event.
  let writeError: Error | null = null;

  const dispose = async (): Promise<void> => {
    if (file && !file.closed) file.destroy();
    if (filePath) await rm(filePath, { force: true });
  };

  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (exceeded) continue; // keep draining so the protocol can answer after the end
      if (size > opts.maxBytes) {
        exceeded = true;
        chunks.length = 0;
        if (file) {
          file.destroy();
          file = null;
        }
        continue;
      }
      if (file) {
        if (writeError) throw writeError;
        if (!file.write(chunk)) await onceDrained(file);
        continue;
      }
      chunks.push(chunk);
      if (size > memLimit) {
        if (!madeDirs.has(opts.spoolDir)) {
          await mkdir(opts.spoolDir, { recursive: true, mode: 0o700 });
          madeDirs.add(opts.spoolDir);
        }
        filePath = join(opts.spoolDir, `${Date.now()}.${randomBytes(6).toString('hex')}.eml`);
        file = createWriteStream(filePath, { flags: 'wx', mode: 0o600 });
        file.on('error', (err) => (writeError ??= err));
        for (const c of chunks.splice(0)) if (!file.write(c)) await onceDrained(file);
      }
    }
    if (file) {
      file.end();
      await finished(file);
    }
    if (writeError && !exceeded) throw writeError;
  } catch (err) {
    await dispose();
    throw err;
  }

  if (exceeded) await dispose();
  const memory = exceeded ? Buffer.alloc(0) : Buffer.concat(chunks);
  const path = exceeded ? null : filePath;
  return {
    size,
    exceeded,
    open: () => (path ? createReadStream(path) : Readable.from([memory])),
    dispose,
  };
}

function onceDrained(stream: WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      stream.off('drain', onDrain);
      stream.off('error', done);
      stream.off('close', onDrain);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = (): void => done();
    stream.once('drain', onDrain);
    stream.once('error', done);
    stream.once('close', onDrain);
  });
}
