// One IMAP connection: bytes in through the proto receiver, typed commands dispatched from
// the registry (commands/index.ts) one at a time, replies out with backpressure.
//
// Concurrency rules:
// - one command at a time; pipelined requests queue in order (RFC 3501 5.5 allows running
//   some in parallel, we never do);
// - untagged mailbox updates (EXISTS, EXPUNGE, FETCH FLAGS) are written only between
//   commands' work and their tagged reply, or at once while IDLE (RFC 2177), never while a
//   FETCH/STORE/SEARCH (non-UID) is answered (RFC 3501 7.4.1 for EXPUNGE);
// - when the socket holds more than `outputBufferBytes` unsent, the session stops reading
//   and stops starting commands until 'drain': a client that floods commands without
//   reading replies cannot make us buffer without bound;
// - no store lock is held while waiting on the socket (the store takes and releases its own).
import type net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import type { Directory, UserRecord } from '../directory/types.js';
import type { AuthThrottle } from '../auth/throttle.js';
import { StoreError, type MailStore, type MailUser, type StoreChange } from '../maildir/types.js';
import type { TlsManager } from '../tls/manager.js';
import { Receiver, type ReceiverEvent } from './proto/receiver.js';
import type { Command, Request } from './proto/types.js';
import type { WireChunk } from './proto/values.js';
import { ImapBad, ImapBye, ImapNo } from './errors.js';
import { capabilities } from './capabilities.js';
import type { ImapHub } from './hub.js';
import { MailboxView } from './mailbox-view.js';
import type { Delimiter } from './names.js';
import { updateLines } from './response.js';
import { drained, writeChunks } from './output.js';
import { COMMANDS, type StateKind } from './commands/index.js';
import { storeErrorToImap } from './commands/store-errors.js';
import { viewUpdateLines } from './commands/condstore.js';
import { metrics } from '../metrics/index.js';
import { DeflateStream } from './compress.js';

export interface ImapLimits {
  maxLineBytes: number;
  maxLiteralBytes: number;
  maxArgs: number;
  maxCommandsBeforeLogin: number;
  outputBufferBytes: number;
  idleTimeoutSeconds: number;
}

export interface SessionDeps {
  hostname: string;
  delimiter: Delimiter;
  limits: ImapLimits;
  loopbackIsSecure: boolean;
  store: MailStore;
  directory: Directory;
  throttle: AuthThrottle;
  hub: ImapHub;
  tls: TlsManager;
  /** Rspamd learning from moves into and out of Junk (src/scan/learn.ts); absent when off. */
  learner?: import('../scan/learn.js').SpamLearner;
}

export interface Selected {
  /** Store name ('/' between levels). */
  mailbox: string;
  readOnly: boolean;
  view: MailboxView;
  /** Another session deleted it: the next reply point says BYE. */
  gone: boolean;
}

export type SessionState =
  | { kind: 'notAuthenticated' }
  | { kind: 'authenticated'; user: UserRecord; mailUser: MailUser }
  | { kind: 'selected'; user: UserRecord; mailUser: MailUser; sel: Selected }
  | { kind: 'logout' };

/** Requests queued (pipelined) before the session stops reading input. */
const MAX_QUEUED = 64;

/** Commands after which the receiver pauses (see src/imap/proto/receiver.ts). */
const PAUSING = new Set(['IDLE', 'AUTHENTICATE', 'STARTTLS', 'ENABLE', 'COMPRESS']);

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

export class ImapSession {
  state: SessionState = { kind: 'notAuthenticated' };
  log: Logger;
  tlsActive: boolean;
  private receiver: Receiver;
  /** Parsed requests, and refusals the receiver made itself (they carry their reply). */
  private queue: Array<Request | { refused: string; tag: string | null }> = [];
  private running = false;
  private closed = false;
  private preLoginCommands = 0;
  private rawLineWaiter: ((line: string | null) => void) | null = null;
  /** Input held while the receiver is paused after IDLE/AUTHENTICATE/STARTTLS. */
  private held: Buffer[] | null = null;
  private leaveHub: (() => void) | null = null;
  /** Set while IDLE: pushes updates as they arrive. */
  private idleNotify: (() => void) | null = null;
  /** UIDVALIDITY of mailboxes seen in append records (COPYUID/APPENDUID without a listing). */
  readonly uidValidityOf = new Map<string, number>();
  /** Extensions turned on by ENABLE (RFC 5161), upper-cased (commands/misc.ts). */
  readonly enabled = new Set<string>();
  private readonly onData = (chunk: Buffer): void => this.receive(chunk);

  constructor(
    private socket: net.Socket,
    readonly id: string,
    readonly deps: SessionDeps,
    log: Logger,
    opts: { tls: boolean; starttls: boolean },
    private readonly onEnd: () => void,
  ) {
    this.log = log;
    this.tlsActive = opts.tls;
    this.starttlsAvailable = opts.starttls;
    this.receiver = this.newReceiver();
  }
  readonly starttlsAvailable: boolean;

  get remote(): string {
    return this.socket.remoteAddress ?? '';
  }
  /** Passwords may be sent: TLS, or loopback when `auth.loopbackIsSecure` (as Dovecot). */
  get secure(): boolean {
    return this.tlsActive || (this.deps.loopbackIsSecure && LOOPBACK.test(this.remote));
  }
  get delimiter(): Delimiter {
    return this.deps.delimiter;
  }

  /** UTF8=ACCEPT (RFC 6855 3): the requests after the ENABLE carry UTF-8 mailbox names. */
  enableUtf8(): void {
    this.enabled.add('UTF8=ACCEPT');
    this.receiver.utf8Names = true;
  }

  capabilities(): string[] {
    return capabilities({
      appendLimit: this.deps.limits.maxLiteralBytes,
      tls: this.tlsActive,
      starttlsAvailable: this.starttlsAvailable,
      secure: this.secure,
      authenticated: this.state.kind === 'authenticated' || this.state.kind === 'selected',
    });
  }

  private newReceiver(): Receiver {
    const { maxLineBytes, maxLiteralBytes, maxArgs } = this.deps.limits;
    return new Receiver({ maxLineBytes, maxLiteralBytes, maxArgs });
  }

  start(): void {
    this.attach(this.socket);
    this.send(`* OK [CAPABILITY ${this.capabilities().join(' ')}] ${this.deps.hostname} IMAP4rev1 ready`);
  }

  private attach(socket: net.Socket): void {
    socket.on('data', this.onData);
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'socket error'));
    socket.on('close', () => this.teardown());
    socket.setTimeout(this.deps.limits.idleTimeoutSeconds * 1000, () => {
      // Nothing waits to be written: the server is busy (a slow password check under load),
      // not the client. Wait another period (a fired timer is not re-armed by itself).
      if (this.running && !this.idleNotify && socket.writableLength === 0) {
        socket.setTimeout(this.deps.limits.idleTimeoutSeconds * 1000);
        return;
      }
      this.log.info({ seconds: this.deps.limits.idleTimeoutSeconds }, 'idle timeout');
      // A command stuck writing to a client that stopped reading: a BYE would land inside
      // its literal, so the connection is simply cut.
      if (this.running && !this.idleNotify) this.kill();
      else this.bye('Autologout; idle for too long');
    });
  }

  // ---- input ---------------------------------------------------------------------------

  private receive(chunk: Buffer): void {
    if (this.closed) return;
    // After IDLE, AUTHENTICATE or STARTTLS the receiver pauses: what follows is a raw line
    // or a TLS handshake, so bytes wait here until the command decides how to read them.
    if (this.held) {
      if (chunk.length > 0) this.held.push(chunk);
      return;
    }
    let events: ReceiverEvent[];
    try {
      events = this.receiver.push(chunk);
    } catch (err) {
      this.log.error({ err }, 'receiver failed');
      this.bye('Internal error');
      return;
    }
    for (const ev of events) {
      if (this.closed) return;
      switch (ev.type) {
        case 'continue':
          this.send('+ Ready for literal data');
          break;
        case 'line':
          if (this.rawLineWaiter) {
            const w = this.rawLineWaiter;
            this.rawLineWaiter = null;
            w(ev.line.toString('utf8'));
          }
          break;
        case 'error':
          if (this.rawLineWaiter && !ev.fatal) {
            // An overlong IDLE/SASL line: the waiting command gets an empty line and answers BAD.
            this.log.info({ reason: ev.text }, 'bad input');
            const w = this.rawLineWaiter;
            this.rawLineWaiter = null;
            w('');
          } else this.onReceiverError(ev);
          break;
        case 'request':
          this.queue.push(ev.request);
          if (ev.request.ok && PAUSING.has(ev.request.command.name)) this.held = [];
          break;
      }
    }
    this.throttleInput();
    void this.pump();
  }

  /** Lets held input through again (the paused command is done, or wants its raw line). */
  private release(): void {
    if (!this.held) return;
    const data = Buffer.concat(this.held);
    this.held = null;
    this.receive(data);
  }

  private onReceiverError(ev: Extract<ReceiverEvent, { type: 'error' }>): void {
    this.log.info({ tag: ev.tag, code: ev.code, reason: ev.text, fatal: ev.fatal }, 'bad input');
    if (ev.fatal) {
      this.bye(ev.text);
      return;
    }
    const code = ev.code ? `[${ev.code}] ` : '';
    // An oversized literal is refused before it is read (RFC 7888 4): NO [TOOBIG]; a syntax
    // error or an overlong line is BAD (RFC 3501 7.1.5).
    const kind = ev.code === 'TOOBIG' && /literal/i.test(ev.text) ? 'NO' : 'BAD';
    this.queue.push({ tag: ev.tag, refused: `${kind} ${code}${ev.text}` });
  }

  /** Reads the next raw line (IDLE's DONE, AUTHENTICATE responses); null when the connection ends. */
  readRawLine(): Promise<string | null> {
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.rawLineWaiter = resolve;
      this.receiver.expectRawLine();
      // Bytes already received may hold the line; an empty push drains the receiver's buffer.
      this.release();
      this.receive(Buffer.alloc(0));
    });
  }

  /**
   * Stop reading while commands pile up or output waits: a client that floods commands
   * without reading replies fills its own send buffer, not our memory. Input resumes when
   * the queue has drained and the socket has caught up (see pump()).
   */
  private throttleInput(): void {
    if (this.inputPaused || this.closed) return;
    if (this.queue.length >= MAX_QUEUED || this.socket.writableLength > this.deps.limits.outputBufferBytes) {
      this.inputPaused = true;
      this.socket.pause();
      // One info line per session; later pauses of the same client only at debug.
      const fields = { queued: this.queue.length, buffered: this.socket.writableLength };
      if (this.pausedBefore) this.log.debug(fields, 'output backlog; input paused');
      else this.log.info(fields, 'output backlog; input paused');
      this.pausedBefore = true;
    }
  }

  private maybeResumeInput(): void {
    if (!this.inputPaused || this.closed) return;
    if (this.queue.length < MAX_QUEUED / 2 && this.socket.writableLength <= this.deps.limits.outputBufferBytes) {
      this.inputPaused = false;
      this.socket.resume();
    }
  }
  private inputPaused = false;
  private pausedBefore = false;

  // ---- command loop ----------------------------------------------------------------------

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (!this.closed && this.queue.length > 0) {
        if (this.socket.writableLength > this.deps.limits.outputBufferBytes) {
          await drained(this.socket);
          continue;
        }
        const req = this.queue.shift()!;
        await this.run(req);
        if (this.stopping) {
          this.bye('Server shutting down');
          break;
        }
        this.maybeResumeInput();
        // A paused command has finished without taking its raw line (refused, or done): go on.
        if (!this.closed && this.held && this.queue.length === 0) {
          this.release();
          this.receive(Buffer.alloc(0));
        }
      }
    } finally {
      this.running = false;
    }
    this.maybeResumeInput();
    if (this.inputPaused && !this.closed) this.socket.once('drain', () => this.maybeResumeInput());
  }

  private async run(req: Request | { refused: string; tag: string | null }): Promise<void> {
    if (this.state.kind === 'notAuthenticated' && ++this.preLoginCommands > this.deps.limits.maxCommandsBeforeLogin) {
      this.log.info({ limit: this.deps.limits.maxCommandsBeforeLogin }, 'too many commands before login');
      this.bye('Too many commands before login');
      return;
    }
    if ('refused' in req || !req.ok) {
      const tag = req.tag ?? '*';
      // Receiver refusals carry their reply (logged when they were made); parse errors are BAD (RFC 3501 7.1.5).
      const text = 'refused' in req ? req.refused : `BAD ${req.error}`;
      if (!('refused' in req)) this.log.info({ tag: req.tag, reason: req.error }, 'bad command');
      await this.flushUpdates(false).catch((err: unknown) => this.answerError(tag, 'BAD', err, false));
      this.send(`${tag} ${text}`);
      return;
    }
    const { tag, command } = req;
    const spec = COMMANDS[command.name];
    this.log.debug({ tag, cmd: command.name }, 'command');
    if (!spec.states.includes(this.state.kind as StateKind)) {
      this.log.info({ tag, cmd: command.name, state: this.state.kind }, 'command in wrong state');
      this.send(`${tag} BAD ${command.name} not allowed ${stateText(this.state.kind)}`);
      return;
    }
    // RFC 3501 7.4.1; SORT and THREAD answer with sequence numbers as SEARCH does, so they follow it too.
    const allowExpunge = !(['FETCH', 'STORE', 'SEARCH', 'SORT', 'THREAD'].includes(command.name) && !(command as { uid?: boolean }).uid);
    metrics.commands.inc({ protocol: 'imap', command: command.name });
    // IDLE lasts as long as the client likes: its duration says nothing about the server.
    const timer = command.name === 'IDLE' ? null : metrics.imapCommandSeconds.startTimer({ command: command.name });
    try {
      const ok = await (spec.run as (s: ImapSession, c: Command, t: string) => Promise<string | null>)(this, command, tag);
      if (ok === null || this.closed) return; // the handler wrote its own ending (LOGOUT, STARTTLS)
      await this.flushUpdates(allowExpunge);
      this.send(`${tag} OK ${ok}`);
    } catch (err) {
      await this.answerError(tag, command.name, err, allowExpunge);
    } finally {
      timer?.();
    }
  }

  private async answerError(tag: string, cmd: string, raw: unknown, allowExpunge: boolean): Promise<void> {
    const err = raw instanceof StoreError ? storeErrorToImap(raw) : raw;
    if (err instanceof ImapBye) {
      this.log.info({ tag, cmd, reason: err.text }, 'bye');
      this.bye(err.responseText);
    } else if (err instanceof ImapNo || err instanceof ImapBad) {
      this.log.info({ tag, cmd, reason: err.text, code: err.code }, err instanceof ImapNo ? 'command refused' : 'bad command');
      await this.flushUpdates(err instanceof ImapNo && allowExpunge).catch(() => {});
      this.send(`${tag} ${err instanceof ImapNo ? 'NO' : 'BAD'} ${err.responseText}`);
    } else {
      this.log.error({ err: raw, tag, cmd }, 'command failed');
      this.send(`${tag} NO [SERVERBUG] internal error (session ${this.id})`);
    }
  }

  // ---- mailbox updates -------------------------------------------------------------------

  /** Sends what changed in the selected mailbox since the client was last told. */
  async flushUpdates(allowExpunge: boolean): Promise<void> {
    if (this.state.kind !== 'selected' || this.closed) return;
    const { sel, mailUser } = this.state;
    if (sel.gone) throw new ImapBye('Selected mailbox was deleted, have to disconnect');
    const view = sel.view;
    if (view.needSync) {
      try {
        const listing = await this.deps.store.listMessages(mailUser, sel.mailbox);
        view.reconcile(
          listing.messages.map((m) => ({ uid: m.uid, flags: [...m.flags, ...m.keywords], internalDate: m.internalDate, size: m.vsize, modseq: m.modseq })),
          listing.uidNext,
          (uids) => this.deps.hub.recent(mailUser, sel.mailbox, uids, !sel.readOnly, listing.messages),
        );
        view.noteModseq(listing.highestModseq); // changes by other programs come without records
      } catch (err) {
        if (err instanceof StoreError && err.code === 'no-mailbox') {
          sel.gone = true;
          throw new ImapBye('Selected mailbox was deleted, have to disconnect');
        }
        throw err;
      }
    }
    // MODSEQ in FETCH, VANISHED for EXPUNGE once CONDSTORE/QRESYNC are on (RFC 7162).
    for (const line of viewUpdateLines(this, view.flush(allowExpunge))) this.send(line);
  }

  /** A store change record for this user (any session's, a delivery's, or another program's). */
  private onChange(c: StoreChange): void {
    if (c.type === 'append') this.uidValidityOf.set(c.mailbox, c.uidValidity);
    if (this.state.kind !== 'selected') return;
    const sel = this.state.sel;
    if (c.type === 'mailbox-rename' && c.mailbox === sel.mailbox) {
      sel.mailbox = c.newName; // the uidlist travels with the directory: same UIDs
      return;
    }
    if (c.mailbox !== sel.mailbox) return;
    if ('modseq' in c) sel.view.noteModseq(c.modseq); // RFC 7162: for [HIGHESTMODSEQ] after EXPUNGE
    switch (c.type) {
      case 'append':
      case 'external':
        sel.view.needSync = true;
        break;
      case 'flags':
        sel.view.applyFlags(c.uid, [...c.flags, ...c.keywords], c.modseq);
        break;
      case 'expunge':
        sel.view.applyExpunge(c.uids);
        break;
      case 'mailbox-delete':
        sel.gone = true;
        break;
      default:
        break;
    }
    this.idleNotify?.();
  }

  // ---- state changes used by the commands ---------------------------------------------------

  async login(user: UserRecord): Promise<void> {
    const mailUser = { domain: user.domain, localPart: user.localPart };
    await this.deps.store.ensureUser(mailUser);
    this.state = { kind: 'authenticated', user, mailUser };
    this.log = this.log.child({ user: user.address });
    this.leaveHub = this.deps.hub.join(mailUser, (c) => this.onChange(c));
    this.log.info('login');
  }

  select(sel: Selected): void {
    if (this.state.kind !== 'authenticated' && this.state.kind !== 'selected') throw new Error('select before login');
    this.state = { kind: 'selected', user: this.state.user, mailUser: this.state.mailUser, sel };
  }

  deselect(): void {
    if (this.state.kind === 'selected') this.state = { kind: 'authenticated', user: this.state.user, mailUser: this.state.mailUser };
  }

  /** IDLE (commands/idle.ts) listens for store changes through this while it waits. */
  setUpdateListener(fn: (() => void) | null): void {
    this.idleNotify = fn;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- output ------------------------------------------------------------------------------

  send(line: string): void {
    if (this.closed || this.socket.destroyed) return;
    this.log.trace({ line: line.length > 200 ? line.slice(0, 200) + '…' : line }, 'S:');
    this.socket.write(line + '\r\n');
  }

  /** Writes serialized chunks, piping literal streams with backpressure. */
  sendChunks(chunks: WireChunk[]): Promise<void> {
    return writeChunks(this.socket, chunks, () => this.closed);
  }

  /** `* BYE text`, then close. */
  bye(text: string): void {
    if (this.closed) return;
    this.send(`* BYE ${text}`);
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.rawLineWaiter?.(null);
    this.rawLineWaiter = null;
    this.idleNotify?.();
    this.socket.end();
    // A client that never reads would keep the socket half-open: cut it after a grace period.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  /** STARTTLS (RFC 3501 6.2.1): after the OK, the socket becomes TLS in place. */
  async startTls(tag: string): Promise<void> {
    // Anything pipelined after STARTTLS in plaintext is discarded (RFC 3501 6.2.1, CVE-2011-0411 class).
    const discarded = this.receiver.bufferedBytes + (this.held?.reduce((n, b) => n + b.length, 0) ?? 0);
    if (discarded > 0) this.log.info({ bytes: discarded }, 'plaintext pipelined after STARTTLS discarded');
    this.queue = [];
    this.held = null;
    this.receiver = this.newReceiver();
    const plain = this.socket;
    plain.off('data', this.onData);
    plain.removeAllListeners('timeout');
    plain.setTimeout(0);
    await new Promise<void>((resolve) => plain.write(`${tag} OK Begin TLS negotiation now\r\n`, () => resolve()));
    const secure = new tls.TLSSocket(plain, { isServer: true, secureContext: this.deps.tls.secureContext(), ...tlsServerOpts(this.deps.tls) });
    this.socket = secure;
    secure.on('secure', () => {
      this.tlsActive = true;
      this.log.info({ protocol: secure.getProtocol(), cipher: secure.getCipher()?.name }, 'starttls');
    });
    secure.on('error', (err) => {
      this.log.info({ reason: err.message }, 'tls handshake failed');
      secure.destroy();
    });
    this.attach(secure);
  }

  /** COMPRESS=DEFLATE is on (RFC 4978): a second COMPRESS gets COMPRESSIONACTIVE. */
  get compressed(): boolean {
    return this.socket instanceof DeflateStream;
  }

  /**
   * COMPRESS (RFC 4978 3): the tagged OK goes out uncompressed, then the socket is swapped
   * for a DeflateStream, as STARTTLS swaps in a TLSSocket. Bytes the client sent after the
   * COMPRESS line (pipelined, as iOS Mail does) are compressed already and go to the
   * inflater first. Synchronous from the OK to the swap, so no 'data' event falls between.
   */
  startCompression(tag: string): void {
    const pending = Buffer.concat([this.receiver.takePending(), ...(this.held ?? [])]);
    this.held = null;
    const raw = this.socket;
    raw.off('data', this.onData);
    raw.removeAllListeners('timeout');
    raw.setTimeout(0);
    raw.write(`${tag} OK DEFLATE active\r\n`);
    const z = new DeflateStream(raw, pending, {
      onInflateError: (err) => {
        this.log.info({ reason: err.message }, 'compressed input does not inflate');
        this.bye('Invalid compressed data');
      },
    });
    // The stream offers the part of net.Socket the session uses (see compress.ts).
    this.socket = z as unknown as net.Socket;
    if (this.inputPaused) z.pause();
    this.attach(this.socket);
    this.log.info({ pipelined: pending.length }, 'compression on');
  }

  private teardown(): void {
    if (!this.closed) this.closed = true;
    this.rawLineWaiter?.(null);
    this.rawLineWaiter = null;
    this.idleNotify?.();
    this.queue = [];
    this.leaveHub?.();
    this.leaveHub = null;
    if (!this.ended) {
      this.ended = true;
      this.log.info('disconnect');
      this.onEnd();
    }
  }
  private ended = false;

  /**
   * Graceful stop: BYE to the client (RFC 3501 7.1.5). A command that is writing (a FETCH
   * streaming a body) finishes first, so the BYE never lands inside a literal; an idle or
   * IDLEing session is told at once.
   */
  shutdown(): void {
    if (!this.running || this.idleNotify) this.bye('Server shutting down');
    else this.stopping = true;
  }
  private stopping = false;

  /** The stop deadline passed with a command still running: cut the connection. */
  kill(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

function tlsServerOpts(mgr: TlsManager): tls.TlsOptions {
  const { SNICallback, minVersion } = mgr.serverOptions();
  return { SNICallback, minVersion } as tls.TlsOptions;
}

function stateText(kind: SessionState['kind']): string {
  switch (kind) {
    case 'notAuthenticated':
      return 'before login';
    case 'authenticated':
      return 'without a selected mailbox';
    case 'selected':
      return 'with a mailbox selected';
    default:
      return 'now';
  }
}
