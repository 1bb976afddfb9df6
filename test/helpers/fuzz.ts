// Seeded generators and the protocol fuzz driver: the same sequence on every run, so a
// failure can be replayed from its seed.
import net from 'node:net';

/** xorshift32, uniform in [0, 1). */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

/** mulberry32, uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FuzzSessionOptions {
  /** Half-valid protocol lines to pick from. */
  pieces: readonly string[];
  /** A session writes 1..maxSteps pieces or junk blocks. */
  maxSteps: number;
  /** Chance that a step is random bytes instead of a piece. */
  junkChance: number;
  maxJunkBytes: number;
  /** Chance of a 5 ms pause after a step, so the server sees more than one read; none if absent. */
  pauseChance?: number;
  /** Runs once connected, before the steps (e.g. to log in some of the sessions). */
  onConnect?: (sock: net.Socket) => void;
}

/**
 * One short session on 127.0.0.1:port of random steps drawn from `next`; it ends abruptly
 * or politely at random (half each) and resolves once the socket is closed.
 */
export async function fuzzSession(port: number, next: () => number, opts: FuzzSessionOptions): Promise<void> {
  const sock = net.connect({ port, host: '127.0.0.1' });
  sock.on('error', () => {});
  sock.on('data', () => {});
  await new Promise<void>((r) => sock.once('connect', () => r()));
  opts.onConnect?.(sock);
  const steps = 1 + Math.floor(next() * opts.maxSteps);
  for (let i = 0; i < steps; i++) {
    if (next() < opts.junkChance) {
      const junk = Buffer.alloc(Math.floor(next() * opts.maxJunkBytes));
      for (let j = 0; j < junk.length; j++) junk[j] = Math.floor(next() * 256);
      sock.write(junk);
    } else {
      sock.write(opts.pieces[Math.floor(next() * opts.pieces.length)]!);
    }
    if (opts.pauseChance !== undefined && next() < opts.pauseChance) await new Promise((r) => setTimeout(r, 5));
  }
  if (next() < 0.5) sock.destroy();
  else sock.end();
  await new Promise<void>((r) => (sock.destroyed ? r() : sock.once('close', () => r())));
}
