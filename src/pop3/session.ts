// One POP3 connection: the RFC 1939 state machine (AUTHORIZATION → TRANSACTION → UPDATE).
//
// Concurrency rules: one command at a time. Lines the client pipelines (RFC 2449 6.6) wait
// in a queue; reading from the socket pauses while the queue is long, so a client cannot
// make us buffer without bound. RETR/TOP write with backpressure and hold no lock while
// waiting on the socket (the maildrop lock is per session and only guards numbering).
// Deletions are applied only in UPDATE, after QUIT; a connection that ends any other way
// (drop, idle timeout, shutdown) applies none (RFC 1939 6).
import net from 'node:net';
import tls from 'node:tls';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { passwordLogin } from '../auth/login.js';
import { isLoopback } from '../net/allowlist.js';
import type { StoreChange } from '../maildir/types.js';
import { LineReceiver, type ReceivedLine } from './proto/receiver.js';
import { parseCommand, type Pop3Command } from './proto/command.js';
import { MultilineEncoder } from './proto/encoder.js';
import { Pop3Err } from './errors.js';
import { Maildrop } from './maildrop.js';
import type { Pop3Context } from './context.js';
import { COMMANDS, type StateKind } from './commands/index.js';
import { metrics } from '../metrics/index.js';

export type SessionState =
  | { kind: 'authorization'; pendingUser?: string }
  | { kind: 'transaction'; drop: Maildrop; release: () => void; unsubscribe: () => void }
  | { kind: 'update' }
  | { kind: 'closed' };

export interface SessionOptions {
  svc: 'pop3' | 'pop3s';
  sid: string;
  /** True on the implicit-TLS listener (995). */
  implicitTls: boolean;
}

/** Queue length at which we stop reading from the socket until the session catches up. */
const PAUSE_AT = 32;

export class Pop3Session {
  readonly sid: string;
  readonly remote: string;
  log: Logger;
  state: SessionState = { kind: 'authorization' };
  /** TLS is in place (implicit, or after STLS). */
  secure: boolean;
  readonly offersStls: boolean;
  /** Busy with a command (graceful stop lets it finish). */
  busy = false;
  private socket: net.Socket;
  private readonly receiver: LineReceiver;
  private queue: ReceivedLine[] = [];
  private wake: (() => void) | null = null;
  private closed = false;
  private finalized = false;
  private stopping = false;
  private badCommands = 0;
  private commandsBeforeLogin = 0;
  private readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(
    socket: net.Socket,
    readonly ctx: Pop3Context,
    readonly opts: SessionOptions,
  ) {
    this.sid = opts.sid;
    this.socket = socket;
    this.remote = socket.remoteAddress ?? '';
    this.secure = opts.implicitTls;
    this.offersStls = !opts.implicitTls;
    this.receiver = new LineReceiver(ctx.limits.maxLineBytes);
    this.log = ctx.logger.child({}); // replaced by the server with a sessionLogger child
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  /** Resolves when the connection is gone and the session has cleaned up. */
  get finished(): Promise<void> {
    return this.done;
  }

  /** RFC 2595 / Dovecot: passwords only over TLS, or on loopback when configured so. */
  loginAllowed(): boolean {
    return this.secure || (this.ctx.loopbackIsSecure && isLoopback(this.remote));
  }

  attach(socket: net.Socket, idleMs: number): void {
    this.socket = socket;
    socket.setTimeout(idleMs);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('timeout', () => {
      // RFC 1939 3: the autologout timer ends the session without entering UPDATE.
      this.log.info('idle timeout');
      this.sendLine('-ERR Disconnected for inactivity');
      this.close();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => this.log.debug({ code: err.code, reason: err.message }, 'socket error'));
    socket.on('close', () => this.onClose());
  }

  private onData(d: Buffer): void {
    const lines = this.receiver.push(d);
    if (lines.length === 0) return;
    for (const l of lines) this.queue.push(l); // a 64 KB chunk of bare LFs is 65536 lines: no spread
    if (this.queue.length >= PAUSE_AT) this.socket.pause();
    this.wakeUp();
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** The next client line (a command, or a SASL response); null once the connection is gone. */
  async nextLine(): Promise<ReceivedLine | null> {
    for (;;) {
      // Once closing, queued (pipelined) lines are not executed.
      if (this.closed) return null;
      if (this.queue.length > 0) break;
      await new Promise<void>((r) => (this.wake = r));
    }
    const item = this.queue.shift()!;
    if (this.queue.length < PAUSE_AT / 2 && this.socket.isPaused()) this.socket.resume();
    return item;
  }

  async run(greeting: string): Promise<void> {
    this.sendLine(`+OK ${greeting}`);
    try {
      for (;;) {
        if (this.stopping) {
          this.sendLine('-ERR [SYS/TEMP] Server shutting down, try again later');
          this.close();
        }
        const item = await this.nextLine();
        if (!item) break;
        this.busy = true;
        try {
          await this.handle(item);
        } finally {
          this.busy = false;
        }
      }
    } finally {
      this.onClose();
    }
  }

  private async handle(item: ReceivedLine): Promise<void> {
    let verb = '';
    try {
      if (item.kind === 'overlong') {
        throw new Pop3Err(`Line too long (limit ${this.ctx.limits.maxLineBytes} octets)`, { bad: true });
      }
      const parsed = parseCommand(item.text);
      verb = parsed.ok ? parsed.command.name : parsed.verb;
      this.log.trace({ in: verb === 'PASS' ? 'PASS [redacted]' : verb === 'AUTH' ? item.text.split(' ').slice(0, 2).join(' ') : item.text }, 'wire');
      if (this.state.kind === 'authorization' && ++this.commandsBeforeLogin > this.ctx.limits.maxCommandsBeforeLogin) {
        throw new Pop3Err('Too many commands before login, closing connection', { close: true, level: 'warn' });
      }
      if (!parsed.ok) throw new Pop3Err(parsed.error === 'unknown' ? `Unknown command: ${parsed.verb}` : parsed.message, { bad: true });
      metrics.commands.inc({ protocol: 'pop3', command: parsed.command.name });
      const spec = COMMANDS[parsed.command.name];
      const kind = this.state.kind as StateKind;
      if (!spec.states.includes(kind)) {
        throw new Pop3Err(kind === 'authorization' ? `${verb} is only valid after login` : `${verb} is not valid after login`, { bad: true });
      }
      await (spec.run as (s: Pop3Session, c: Pop3Command) => Promise<void> | void)(this, parsed.command);
    } catch (err) {
      this.fail(err, verb);
    }
  }

  /** The one place where errors become -ERR replies and log lines. */
  private fail(err: unknown, verb: string): void {
    if (this.closed) {
      if (!(err instanceof Pop3Err)) this.log.warn({ err, cmd: verb }, 'command failed after disconnect');
      return;
    }
    if (err instanceof Pop3Err) {
      let line = err.line;
      let close = err.opts.close ?? false;
      if (err.opts.bad && ++this.badCommands >= this.ctx.limits.maxBadCommands) {
        line = '-ERR Too many invalid commands, closing connection';
        close = true;
      }
      this.log[err.opts.level ?? 'info']({ cmd: verb, reply: line }, 'command refused');
      this.sendLine(line);
      if (close) this.close();
      return;
    }
    this.log.error({ err, cmd: verb }, 'command failed');
    this.sendLine(`-ERR [SYS/TEMP] Internal error, try again later (session ${this.sid})`);
  }

  sendLine(line: string): void {
    if (this.closed || this.socket.destroyed) return;
    this.log.trace({ out: line }, 'wire');
    this.socket.write(line + '\r\n');
  }

  /** A multi-line reply of short lines (CAPA, LIST, UIDL), byte-stuffed (RFC 1939 3). */
  sendMultiline(first: string, lines: Iterable<string>): void {
    let text = `${first}\r\n`;
    for (const l of lines) text += (l.startsWith('.') ? '.' : '') + l + '\r\n';
    this.sendLine(text + '.');
  }

  /**
   * Streams a stored message as multi-line data: CRLF line ends, byte-stuffed, ending in
   * ".". Writes wait for the socket to drain, so a slow reader never makes us buffer the
   * message. A read failure after "+OK" cannot be reported in-band: the connection is cut.
   */
  async streamMessage(first: string, source: Readable, bodyLines?: number): Promise<void> {
    const enc = new MultilineEncoder(bodyLines);
    this.sendLine(first);
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        if (this.closed) return;
        const out = enc.push(chunk);
        if (out.length > 0) await this.writeData(out);
        if (enc.done) break; // leaving the loop destroys the file stream
      }
    } catch (err) {
      source.destroy();
      this.log.error({ err }, 'message read failed mid-transfer; closing');
      this.close();
      return;
    }
    if (this.closed) return;
    await this.writeData(Buffer.concat([enc.end(), Buffer.from('.\r\n')]));
  }

  private async writeData(buf: Buffer): Promise<void> {
    if (this.closed) return;
    if (this.socket.write(buf)) return;
    const s = this.socket;
    await new Promise<void>((resolve) => {
      const done = () => {
        s.off('drain', done);
        s.off('close', done);
        resolve();
      };
      s.on('drain', done);
      s.on('close', done);
    });
  }

  /**
   * RFC 2595 4: "+OK", then TLS on the same connection. Lines the client pipelined after
   * STLS were sent in plaintext before the handshake: they are discarded, never executed.
   */
  async startTls(): Promise<void> {
    const raw = this.socket;
    this.sendLine('+OK Begin TLS negotiation');
    raw.removeAllListeners('data');
    raw.removeAllListeners('timeout');
    raw.removeAllListeners('close');
    raw.removeAllListeners('error');
    raw.on('error', () => {}); // the TLS socket reports failures from here on
    raw.setTimeout(0);
    this.receiver.reset();
    this.queue = [];
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: this.ctx.tls.secureContext() });
    this.attach(secure, this.idleMs);
    await new Promise<void>((resolve) => {
      secure.once('secure', () => {
        this.secure = true;
        this.log.debug({ protocol: secure.getProtocol(), cipher: secure.getCipher()?.name }, 'tls established');
        resolve();
      });
      secure.once('close', () => resolve());
      secure.once('error', (err: Error) => {
        if (!this.secure) this.log.info({ reason: err.message }, 'tls handshake failed');
      });
    });
    // RFC 2595 4: the client forgets what it learned before; so do we (a USER sent earlier).
    this.state = { kind: 'authorization' };
  }

  /** Set by the server before run(); the STLS upgrade re-applies it to the TLS socket. */
  idleMs = 600_000;

  /** The password check shared by PASS and AUTH; on success enters TRANSACTION. */
  async login(username: string, password: string, authzid = ''): Promise<void> {
    // The client is waiting on us (a slow hash, the throttle's tarpit): not idle.
    const socket = this.socket;
    socket.setTimeout(0);
    try {
      await this.checkAndOpen(username, password, authzid);
    } finally {
      if (!this.closed) socket.setTimeout(this.idleMs);
    }
  }

  private async checkAndOpen(username: string, password: string, authzid: string): Promise<void> {
    const outcome = await passwordLogin(
      this.ctx.directory,
      this.ctx.throttle,
      { ip: this.remote, username, password, authzid, service: 'pop3' },
      this.log,
    );
    if (this.closed) return;
    if (!outcome.ok) throw new Pop3Err('Authentication failed', { code: 'AUTH' });
    const u = outcome.user;
    const user = { domain: u.domain, localPart: u.localPart };
    const release = this.ctx.locks.acquire(`${u.domain}/${u.localPart}`, this.sid);
    if (!release) {
      // RFC 2449 8.1.1: the maildrop is locked; the client may retry later.
      throw new Pop3Err('Mailbox locked by another POP3 session', { code: 'IN-USE' });
    }
    let unsubscribe = (): void => {};
    try {
      await this.ctx.store.ensureUser(user);
      const drop = await this.ctx.store.listMessages(user, 'INBOX');
      const maildrop = new Maildrop(user, u.address, drop.uidValidity, drop.messages);
      // IMAP expunges during the session: keep the numbering, make RETR fail cleanly.
      unsubscribe = this.ctx.store.onChange((c: StoreChange) => {
        if (c.type !== 'expunge' || c.mailbox !== 'INBOX') return;
        if (c.user.domain !== user.domain || c.user.localPart !== user.localPart) return;
        if (this.state.kind !== 'transaction') return;
        const n = maildrop.markRemoved(c.uids);
        if (n > 0) this.log.debug({ removed: n }, 'messages expunged by another session');
      });
      if (this.closed) {
        unsubscribe();
        release();
        return;
      }
      this.log = this.log.child({ user: u.address });
      this.state = { kind: 'transaction', drop: maildrop, release, unsubscribe };
      const { count, octets } = maildrop.stat();
      this.log.info({ messages: count, octets }, 'login');
      this.sendLine(`+OK Logged in, ${count} message${count === 1 ? '' : 's'} (${octets} octets)`);
    } catch (err) {
      unsubscribe();
      release();
      throw err;
    }
  }

  /** RFC 1939 6: QUIT in TRANSACTION enters UPDATE and removes the marked messages. */
  async quit(): Promise<void> {
    const st = this.state;
    if (st.kind !== 'transaction') {
      this.sendLine('+OK Logging out');
      this.close();
      return;
    }
    this.state = { kind: 'update' };
    st.unsubscribe();
    const drop = st.drop;
    try {
      const seen = drop.retrievedUids();
      if (seen.length > 0) {
        // As Dovecot's POP3 does: what RETR downloaded shows as read in IMAP.
        await this.ctx.store.setFlags(drop.user, 'INBOX', seen, 'add', ['\\Seen']).catch((err: unknown) => {
          this.log.warn({ err }, 'could not mark retrieved messages seen');
        });
      }
      const wanted = drop.deletedUids();
      let removed: number[] = [];
      let failed = false;
      if (wanted.length > 0) {
        try {
          removed = await this.ctx.store.expunge(drop.user, 'INBOX', wanted);
        } catch (err) {
          failed = true;
          this.log.error({ err, uids: wanted }, 'update failed');
        }
      }
      this.log.info({ deleted: removed.length, requested: wanted.length, seen: seen.length }, 'update');
      // RFC 1939 6: "-ERR some deleted messages not removed" when UPDATE fails.
      this.sendLine(failed ? '-ERR [SYS/TEMP] Some deleted messages were not removed' : `+OK Logging out, ${removed.length} deleted`);
    } finally {
      st.release();
      this.close();
    }
  }

  /** Graceful stop: an idle session is told at once; a busy one after its command. */
  shutdown(): void {
    this.stopping = true;
    if (!this.busy) {
      this.sendLine('-ERR [SYS/TEMP] Server shutting down, try again later');
      this.close();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.end();
    // end() flushes what was written; a peer that never reads must not keep us waiting.
    const s = this.socket;
    setTimeout(() => s.destroy(), 5_000).unref();
    this.wakeUp();
  }

  destroy(): void {
    this.close();
    this.socket.destroy();
  }

  private onClose(): void {
    if (!this.closed) {
      this.closed = true;
      this.wakeUp();
    }
    // Runs once, from the socket's 'close' or the command loop's end, whichever is first.
    if (this.finalized) return;
    this.finalized = true;
    const st = this.state;
    if (st.kind === 'transaction') {
      // Dropped without QUIT: the marks are forgotten (RFC 1939 6).
      const marked = st.drop.deletedUids().length;
      if (marked > 0) this.log.info({ marked }, 'connection ended without QUIT; no messages deleted');
      st.unsubscribe();
      st.release();
    }
    this.state = { kind: 'closed' };
    this.log.info('disconnect');
    this.resolveDone();
  }
}
