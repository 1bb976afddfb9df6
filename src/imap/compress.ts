// COMPRESS=DEFLATE (RFC 4978): the stream a session talks through once compression is on.
// It stands in for the socket the way the TLSSocket does after STARTTLS: the session writes
// plain IMAP to it and reads plain IMAP from it; raw deflate (RFC 1951, no zlib header,
// RFC 4978 3) goes over the wire in both directions.
//
// Output. Every write batch (one `_writev`: whatever the session wrote while the previous
// batch was being compressed) ends with a Z_SYNC_FLUSH, so the client can decode each reply
// as soon as it arrives, IDLE pushes included (RFC 4978 4). A batch's callback waits until
// the socket has taken its bytes, so a slow reader backs up into `writableLength`, which
// the session and the FETCH literal writer already watch.
//
// Memory. zlib's deflate state is large (Node's bundled zlib always allocates a 64 KiB hash
// table, plus the window), and 5,000 idle connections must not each hold one. The deflater
// therefore lives only while output flows: after DEFLATER_LINGER_MS without a write it is
// closed, and the next batch starts a fresh one. The client notices nothing: our last batch
// ended with a sync flush on a byte boundary, and a new deflater simply does not refer back
// to earlier output (the effect of Z_FULL_FLUSH, which RFC 4978 4 notes needs nothing from
// the receiving peer). The inflater cannot be dropped (the client's compressor refers back
// up to 32 KiB, RFC 1951 2), so it stays, with a small output chunk.
//
// Input. Bytes the client sent after the COMPRESS line, possibly in the same TCP segment
// (iOS Mail pipelines its first compressed command this way), are compressed already: the
// session hands them over as `pending` and they are inflated before anything read later.
// Garbage that does not inflate ends the session (the caller's `onInflateError`), never the
// process.
import { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import type net from 'node:net';

/**
 * Our compressor's settings. A 8 KiB window and memLevel 6 compress IMAP traffic (listings,
 * headers, message text) as well as zlib's defaults in our measurements, at about half the
 * memory (≈120 KiB instead of ≈240 KiB while a deflater is alive).
 */
export const DEFLATE_OPTIONS: zlib.ZlibOptions = { windowBits: 13, memLevel: 6, level: 6, chunkSize: 16 * 1024 };

/** The client may use the full 32 KiB window (RFC 1951 has no way to announce a smaller one). */
const INFLATE_OPTIONS: zlib.ZlibOptions = { windowBits: 15, chunkSize: 4 * 1024 };

/** A deflater unused this long is closed (see the header comment). */
export const DEFLATER_LINGER_MS = 1000;

export interface DeflateStreamHooks {
  /** The client's data did not inflate (already unpiped); the session says BYE and closes. */
  onInflateError(err: Error): void;
}

/**
 * The part of net.Socket the session uses (data/close/error/drain events, write, end,
 * destroy, pause/resume, setTimeout, writableLength, remoteAddress), over a compressed socket.
 */
export class DeflateStream extends Duplex {
  private deflater: zlib.DeflateRaw | null = null;
  private readonly inflater: zlib.InflateRaw;
  private linger: NodeJS.Timeout | null = null;
  private writing = false;
  private inflateFailed = false;

  constructor(
    private readonly raw: net.Socket,
    pending: Buffer,
    private readonly hooks: DeflateStreamHooks,
  ) {
    // allowHalfOpen false: a client's FIN ends our side too, as with a plain net.Socket.
    super({ allowHalfOpen: false });
    this.inflater = zlib.createInflateRaw(INFLATE_OPTIONS);
    this.inflater.on('data', (chunk: Buffer) => {
      // The session paused us (output backlog): stop inflating until it reads again (_read).
      if (!this.push(chunk)) this.inflater.pause();
    });
    this.inflater.on('end', () => this.push(null));
    this.inflater.on('error', (err) => this.failInflate(err));
    raw.on('close', () => this.destroy());
    raw.on('error', (err) => this.destroy(err));
    if (pending.length > 0) this.inflater.write(pending);
    // pipe() carries backpressure from the inflater to the socket. Not its end: a client's
    // stream never has a final block, so ending the inflater (Z_FINISH) at the client's FIN
    // reports "unexpected end of file" for every ordinary disconnect, the inflate error that
    // iOS Mail users met on other servers (zone-eu/wildduck#115). At FIN, what the inflater
    // holds is flushed out and our readable side ends.
    raw.pipe(this.inflater, { end: false });
    raw.on('end', () => {
      if (this.inflateFailed || this.inflater.destroyed) return;
      this.inflater.flush(zlib.constants.Z_SYNC_FLUSH, () => this.push(null));
    });
  }

  get remoteAddress(): string | undefined {
    return this.raw.remoteAddress;
  }

  /** The session's idle timeout runs on the underlying socket (net.Socket semantics). */
  setTimeout(ms: number, cb?: () => void): this {
    this.raw.setTimeout(ms);
    if (cb) this.raw.on('timeout', cb);
    return this;
  }

  override _read(): void {
    if (!this.inflateFailed) this.inflater.resume();
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    if (this.raw.destroyed) {
      cb();
      return;
    }
    const d = this.deflater ?? this.openDeflater();
    this.writing = true;
    for (const { chunk } of chunks) d.write(chunk);
    // RFC 4978 4: the batch is flushed, so the client can act on every response in it now.
    d.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      this.writing = false;
      this.linger?.refresh();
      if (!this.raw.writableNeedDrain || this.raw.destroyed) {
        cb();
        return;
      }
      // The socket is backed up: the batch counts as written only once it has drained.
      const go = (): void => {
        this.raw.off('drain', go);
        this.raw.off('close', go);
        cb();
      };
      this.raw.on('drain', go);
      this.raw.on('close', go);
    });
  }

  override _final(cb: (err?: Error | null) => void): void {
    // Every batch was flushed already; no final block (RFC 4978 does not ask for one).
    this.closeDeflater();
    this.raw.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.closeDeflater();
    this.inflater.close();
    this.raw.destroy();
    cb(err);
  }

  private openDeflater(): zlib.DeflateRaw {
    const d = zlib.createDeflateRaw(DEFLATE_OPTIONS);
    d.on('data', (out: Buffer) => this.raw.write(out));
    // Deflate does not fail on valid input; if zlib does, the connection cannot go on.
    d.on('error', (err) => this.destroy(err));
    this.deflater = d;
    if (this.linger) this.linger.refresh();
    else this.linger = setTimeout(() => this.lingerExpired(), DEFLATER_LINGER_MS).unref();
    return d;
  }

  private lingerExpired(): void {
    // A batch in flight (or waiting in our buffer) keeps the deflater; its flush re-arms the timer.
    if (this.writing || this.writableLength > 0) {
      this.linger?.refresh();
      return;
    }
    this.closeDeflater();
  }

  private closeDeflater(): void {
    if (this.linger) clearTimeout(this.linger);
    this.linger = null;
    const d = this.deflater;
    if (!d) return;
    this.deflater = null;
    // Output not yet handed to the socket goes first, so nothing is lost or reordered.
    d.removeAllListeners('data');
    for (let out = d.read() as Buffer | null; out !== null; out = d.read() as Buffer | null) this.raw.write(out);
    d.on('error', () => {});
    d.close();
  }

  private failInflate(err: Error): void {
    if (this.inflateFailed) return;
    this.inflateFailed = true;
    // A connection already torn down has nothing to report (zlib may still answer late).
    if (this.destroyed) return;
    this.raw.unpipe(this.inflater);
    this.raw.pause();
    this.inflater.on('error', () => {});
    this.inflater.close();
    this.hooks.onInflateError(err);
  }
}
