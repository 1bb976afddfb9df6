// Writing serialized responses to the socket with backpressure: plain bytes as they are,
// literal bodies piped from their streams, waiting for 'drain' whenever the socket's buffer
// is full, so a 25 MB FETCH never sits in memory and a slow reader slows only itself.
import type net from 'node:net';
import type { Readable } from 'node:stream';
import type { WireChunk } from './proto/values.js';

/**
 * Resolves when the socket has room again (or is gone). Both listeners go when either fires:
 * a race of two once() promises would leave the loser's listeners on the socket, one pair
 * per wait, for the life of the connection.
 */
export function drained(socket: net.Socket): Promise<void> {
  if (socket.writableLength === 0 || socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

export async function writeChunks(socket: net.Socket, chunks: WireChunk[], isClosed: () => boolean): Promise<void> {
  for (const c of chunks) {
    if (isClosed() || socket.destroyed) return;
    if (Buffer.isBuffer(c)) {
      if (!socket.write(c)) await drained(socket);
      continue;
    }
    const stream: Readable = await c.open();
    let sent = 0;
    try {
      for await (const part of stream) {
        const buf = part as Buffer;
        const take = Math.min(buf.length, c.length - sent);
        if (take <= 0) break;
        sent += take;
        if (!socket.write(take === buf.length ? buf : buf.subarray(0, take))) await drained(socket);
        if (isClosed()) break;
      }
    } finally {
      stream.destroy();
    }
    // The literal's length was announced: pad if the file shrank under us, so the client's
    // parser stays in step (RFC 3501 4.3 counts octets exactly).
    if (sent < c.length && !isClosed()) socket.write(Buffer.alloc(c.length - sent, 0x20));
  }
}
