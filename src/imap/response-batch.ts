// Batches the untagged responses of one long command (FETCH 1:* of 10,000 messages) into
// socket writes of ~64 KiB instead of one write per message: each write is a syscall and a
// pass through the stream machinery, which cost more than building the response. Literal
// streams (body sections) still go through the session's piping with backpressure, and
// the batch waits for 'drain' whenever the socket's buffer is full, so memory stays bounded.
import type { WireChunk } from './proto/values.js';

const BATCH_BYTES = 64 * 1024;

interface Sender {
  sendChunks(chunks: WireChunk[]): Promise<void>;
}

export class ResponseBatch {
  private parts: Buffer[] = [];
  private bytes = 0;

  constructor(private readonly session: Sender) {}

  /** Queues one response; resolves at once unless a write (and maybe a drain wait) was due. */
  add(chunks: WireChunk[]): Promise<void> | void {
    for (const c of chunks) {
      if (!Buffer.isBuffer(c)) return this.withStream(chunks);
    }
    for (const c of chunks) {
      this.parts.push(c as Buffer);
      this.bytes += (c as Buffer).length;
    }
    if (this.bytes >= BATCH_BYTES) return this.end();
  }

  /** Writes what is queued (call before the tagged reply, and before any other output). */
  async end(): Promise<void> {
    if (this.parts.length === 0) return;
    const data = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.bytes);
    this.parts = [];
    this.bytes = 0;
    await this.session.sendChunks([data]);
  }

  private async withStream(chunks: WireChunk[]): Promise<void> {
    await this.end();
    await this.session.sendChunks(chunks);
  }
}
