// ClamAV over clamd's TCP protocol (clamd(8), "COMMANDS"): our own small client rather than
// the npm `clamscan` package, which is built around the clamscan/clamdscan binaries and
// local sockets and buffers replies loosely; what we need is one TCP exchange per message
// (zINSTREAM) plus zPING, with a hard time limit and backpressure, about 150 lines.
//
//   zINSTREAM\0  then chunks: <4-byte big-endian length><bytes>, ended by a zero length
//   reply (NUL-terminated with the z prefix): "stream: OK", "stream: <signature> FOUND",
//   "INSTREAM size limit exceeded. ERROR" (more than clamd's StreamMaxLength), "... ERROR"
//
// The message is streamed from the spool in chunks, never read whole. clamd closes the
// connection once it has sent the size-limit error; the reset our next write provokes can
// overtake that line, so a message over clamd's limit fails as 'too large' or 'closed'.
// Setting maxStreamBytes to clamd's StreamMaxLength avoids sending it at all.
import net from 'node:net';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import * as tar from 'tar';
import type { ResolvedConfig } from '../config/schema.js';
import { reply } from '../delivery/types.js';
import type { ArchiveScanner, ScanVerdict } from '../backup/scanner.js';
import { noEdits, type MessageScanner, type ScanOutcome } from './types.js';

export type ClamavConfig = ResolvedConfig['scan']['clamav'];

export interface ClamdTarget {
  host: string;
  port: number;
  /** The whole exchange: connect, send, verdict. */
  timeoutMs: number;
  chunkBytes: number;
  /** Our copy of clamd's StreamMaxLength: larger input is not sent. */
  maxStreamBytes: number;
}

/** Why a scan gave no verdict; the reason also appears in X-Scan-Skipped. */
export type ClamdFailure = 'unreachable' | 'timeout' | 'closed' | 'garbage' | 'too large' | 'error';

export class ClamdError extends Error {
  constructor(
    readonly reason: ClamdFailure,
    message: string,
  ) {
    super(message);
    this.name = 'ClamdError';
  }
}

/** A reply longer than this without its terminator is not clamd talking. */
const MAX_REPLY = 4096;
const PING_TIMEOUT_MS = 2000;

/**
 * One command/reply exchange on a fresh connection. `send` writes the request; the reply is
 * everything up to the first NUL. Rejects with ClamdError for network trouble, or with
 * `send`'s own error (the spool could not be read: our failure, not clamd's).
 */
function exchange(t: ClamdTarget, timeoutMs: number, send: (sock: net.Socket) => Promise<void>, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: t.host, port: t.port });
    sock.setNoDelay(true);
    let buf = Buffer.alloc(0);
    let connected = false;
    let settled = false;
    const finish = (err: Error | null, text?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', abandon); // one signal serves a whole archive
      sock.destroy();
      if (err) reject(err);
      else resolve(text!);
    };
    const timer = setTimeout(() => finish(new ClamdError('timeout', `clamd gave no answer within ${timeoutMs} ms`)), timeoutMs);
    const abandon = (): void => finish(new ClamdError('closed', 'scan abandoned'));
    signal?.addEventListener('abort', abandon, { once: true });
    sock.once('connect', () => {
      connected = true;
      send(sock).catch((err: unknown) => finish(err as Error));
    });
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf(0);
      if (end >= 0) return finish(null, buf.subarray(0, end).toString('latin1'));
      // A newline-terminated or overlong answer to a z-command is not from clamd.
      if (buf.includes(0x0a) || buf.length > MAX_REPLY) finish(new ClamdError('garbage', `unexpected reply ${printable(buf)}`));
    });
    // After connect, an error (EPIPE, ECONNRESET) is followed by 'close', which decides.
    sock.on('error', (err) => {
      if (!connected) finish(new ClamdError('unreachable', `clamd at ${t.host}:${t.port}: ${err.message}`));
    });
    sock.once('close', () => {
      finish(buf.length > 0 ? new ClamdError('garbage', `unexpected reply ${printable(buf)}`) : new ClamdError('closed', 'clamd closed the connection without a verdict'));
    });
  });
}

const printable = (b: Buffer): string => JSON.stringify(b.subarray(0, 80).toString('latin1'));

function waitDrain(sock: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      sock.off('drain', done);
      sock.off('close', done);
      resolve();
    };
    sock.once('drain', done);
    sock.once('close', done);
  });
}

async function sendStream(sock: net.Socket, source: AsyncIterable<Buffer>, t: ClamdTarget): Promise<void> {
  sock.write('zINSTREAM\0');
  let sent = 0;
  for await (const chunk of source) {
    for (let off = 0; off < chunk.length; off += t.chunkBytes) {
      if (sock.destroyed) return; // the verdict (or an error) came early
      const part = chunk.subarray(off, off + t.chunkBytes);
      sent += part.length;
      if (sent > t.maxStreamBytes) throw new ClamdError('too large', `more than ${t.maxStreamBytes} bytes (StreamMaxLength)`);
      const head = Buffer.allocUnsafe(4);
      head.writeUInt32BE(part.length);
      // Corked: the length and its bytes leave in one writev, not two segments.
      sock.cork();
      sock.write(head);
      const room = sock.write(part);
      sock.uncork();
      if (!room) await waitDrain(sock);
    }
  }
  if (!sock.destroyed) sock.write(Buffer.alloc(4)); // the zero-length chunk ends the stream
}

/** The verdict in a clamd reply; throws ClamdError for an error or an unknown answer. */
export function parseVerdict(text: string): ScanVerdict {
  const t = text.trim();
  if (t === 'stream: OK') return { infected: false };
  const found = /^stream: (.+) FOUND$/.exec(t);
  // The signature goes into an SMTP reply line: printable ASCII only, bounded.
  if (found) return { infected: true, signature: found[1]!.replace(/[^\x21-\x7e]/g, '?').slice(0, 200) };
  if (/size limit exceeded/i.test(t)) throw new ClamdError('too large', t);
  if (/ERROR$/.test(t)) throw new ClamdError('error', t);
  throw new ClamdError('garbage', `unexpected reply ${JSON.stringify(t.slice(0, 80))}`);
}

/**
 * Streams the input to clamd (zINSTREAM). `open` is called only once connected; `size`, when
 * known, refuses oversized input before connecting. An input left unread because the
 * exchange ended early is closed by its iterator's return().
 */
export async function instream(t: ClamdTarget, open: () => AsyncIterable<Buffer>, size?: number, signal?: AbortSignal): Promise<ScanVerdict> {
  if (size !== undefined && size > t.maxStreamBytes) {
    throw new ClamdError('too large', `${size} bytes is over StreamMaxLength (${t.maxStreamBytes})`);
  }
  return parseVerdict(await exchange(t, t.timeoutMs, (sock) => sendStream(sock, open(), t), signal));
}

export async function ping(t: ClamdTarget, timeoutMs = PING_TIMEOUT_MS): Promise<boolean> {
  try {
    return (await exchange(t, Math.min(timeoutMs, t.timeoutMs), async (sock) => void sock.write('zPING\0'))) === 'PONG';
  } catch {
    return false;
  }
}

export interface ClamavScanner extends MessageScanner {
  readonly name: 'clamav';
  /** Last ping result without asking clamd (undefined before the first ping). */
  lastPing(): boolean | undefined;
  /** Restore: every file in a tar(.gz) stream scanned on its own (see scanArchive). */
  readonly archive: ArchiveScanner;
}

export function clamdTarget(cfg: ClamavConfig): ClamdTarget {
  return { host: cfg.host ?? '127.0.0.1', port: cfg.port, timeoutMs: cfg.timeoutSeconds * 1000, chunkBytes: cfg.chunkBytes, maxStreamBytes: cfg.maxStreamBytes };
}

export function createClamavScanner(cfg: ClamavConfig, logger: Logger): ClamavScanner {
  const target = clamdTarget(cfg);
  const cacheMs = cfg.pingCacheSeconds * 1000;
  let last: { at: number; ok: boolean } | null = null;
  let inflight: Promise<boolean> | null = null;

  async function scan({ message, log }: { message: { size: number; open(): Readable }; log: Logger }): Promise<ScanOutcome> {
    let verdict: ScanVerdict;
    try {
      verdict = await instream(target, () => message.open(), message.size);
    } catch (err) {
      if (!(err instanceof ClamdError)) throw err; // the spool could not be read: our failure
      log.warn({ scanner: 'clamav', reason: err.reason, err: err.message, onFailure: cfg.onFailure }, 'scanner failed');
      if (cfg.onFailure === 'accept') return { edits: noEdits(), skipped: err.reason };
      return { refuse: reply(451, '4.7.0', 'Virus scan temporarily unavailable, try again later'), edits: noEdits() };
    }
    if (!verdict.infected) return { edits: noEdits() };
    log.warn({ scanner: 'clamav', signature: verdict.signature, size: message.size }, 'virus found; message refused');
    return { refuse: reply(554, '5.7.1', `Message refused: virus found (${verdict.signature})`), edits: noEdits() };
  }

  return {
    name: 'clamav',
    scan,
    ping() {
      if (last && Date.now() - last.at < cacheMs) return Promise.resolve(last.ok);
      // Concurrent probes share one PING: /readyz and /healthz must not hammer clamd.
      inflight ??= ping(target).then((ok) => {
        last = { at: Date.now(), ok };
        inflight = null;
        if (!ok) logger.warn({ scanner: 'clamav', host: target.host, port: target.port }, 'scanner unreachable');
        return ok;
      });
      return inflight;
    },
    lastPing: () => last?.ok,
    archive: { name: 'clamav', scan: (plaintext, label) => scanArchive(target, plaintext, label, logger) },
  };
}

/** Files of one archive scanned at once (each its own connection). */
const ARCHIVE_PARALLEL = 2;

/**
 * Restore (issue 9): a backup archive can be far larger than StreamMaxLength, so instead of
 * sending the tar.gz whole, each file in it is streamed to clamd on its own (node-tar's
 * parser takes gzip or plain tar and applies backpressure while an entry is unread). Any
 * failure - clamd down, a file over StreamMaxLength, a damaged archive - throws: a restore
 * does not go ahead half-scanned (`backup.scanBeforeRestore: false` restores unscanned).
 * The first finding or failure stops the walk.
 */
export async function scanArchive(t: ClamdTarget, plaintext: NodeJS.ReadableStream, label: string, logger: Logger): Promise<ScanVerdict> {
  const log = logger.child({ svc: 'restore-scan', archive: label });
  let running = 0;
  let files = 0;
  const waiting: Array<() => void> = [];
  const pending = new Set<Promise<void>>();
  let stop: (outcome: ScanVerdict | Error) => void = () => {};
  const outcome = new Promise<ScanVerdict | Error>((resolve) => (stop = resolve));
  let stopped = false;
  const abandon = new AbortController();
  const parser = new tar.Parser({
    strict: true,
    onReadEntry: (entry) => {
      if (stopped || (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile')) return entry.resume();
      const path = entry.path;
      const job = (async () => {
        // The entry stays unread (holding the parser back) until a connection is free.
        if (running >= ARCHIVE_PARALLEL) await new Promise<void>((r) => waiting.push(r));
        running++;
        try {
          if (stopped) return void entry.resume();
          files++;
          const v = await instream(t, () => entry as unknown as AsyncIterable<Buffer>, entry.size, abandon.signal);
          if (v.infected) {
            log.error({ file: path, signature: v.signature }, 'malware found in backup');
            stop(v);
          }
        } catch (err) {
          stop(err instanceof ClamdError ? new ClamdError(err.reason, `${path}: ${err.message}`) : (err as Error));
        } finally {
          running--;
          waiting.shift()?.();
        }
      })();
      pending.add(job);
      void job.finally(() => pending.delete(job));
    },
  });
  parser.on('error', (err: Error) => stop(err));
  parser.on('end', () => void Promise.all(pending).then(() => stop({ infected: false })));
  plaintext.on('error', (err: Error) => stop(err));
  plaintext.pipe(parser as unknown as NodeJS.WritableStream);
  const result = await outcome;
  stopped = true;
  if (!(result instanceof Error) && !result.infected) {
    log.info({ files }, 'archive scanned clean');
    return result;
  }
  // Stopped early: close the archive (its file descriptor, the decryption) and wait for
  // the scans still running so no socket outlives the restore command.
  plaintext.unpipe(parser as unknown as NodeJS.WritableStream);
  (plaintext as unknown as { destroy?: () => void }).destroy?.();
  abandon.abort();
  await Promise.allSettled([...pending]);
  if (result instanceof Error) throw result;
  return result;
}
