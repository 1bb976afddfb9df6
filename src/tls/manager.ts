// The process's one source of TLS contexts. Every listener takes its options from here,
// so a renewed certificate reaches new connections everywhere without a restart;
// connections already open keep the certificate they started with.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type tls from 'node:tls';
import type pino from 'pino';
import { buildKeyPair, loadKeyPair, summarize, type KeyPair, type MinTlsVersion } from './keypair.js';
import { ensureSelfSigned } from './selfsigned.js';
import { watchFiles } from './watch.js';

export interface TlsManagerOptions {
  certFile?: string | undefined;
  keyFile?: string | undefined;
  dataDir: string;
  hostname: string;
  minVersion: MinTlsVersion;
  logger: pino.Logger;
  /** Stat poll besides fs.watch; 0 disables. Default 45 s. */
  pollIntervalMs?: number;
  /** Wait for a burst of file events to settle (key and cert are replaced one by one). */
  debounceMs?: number;
  /** Watch the directories with fs.watch (default true); the poll runs either way. */
  fsWatch?: boolean;
}

/** Anything with Node's setSecureContext: tls.Server, https.Server. */
export interface SecureContextTarget {
  setSecureContext(options: tls.SecureContextOptions): void;
}

export interface TlsManager {
  secureContext(): tls.SecureContext;
  /** key, cert, minVersion and an SNICallback that always returns the current context. */
  serverOptions(): tls.TlsOptions;
  /** Called after a successful reload; returns an unsubscribe function. */
  onReload(cb: () => void): () => void;
  /**
   * Clients that send no SNI (connections to an IP address) get the server's default
   * context, which only setSecureContext replaces: attached servers get it on reload.
   */
  attach(server: SecureContextTarget): () => void;
  /** Re-reads the files now (e.g. on SIGHUP). True when a new certificate was installed. */
  reload(): Promise<boolean>;
  close(): void;
  readonly source: 'files' | 'self-signed';
}

const hashOf = (key: Buffer, cert: Buffer) => createHash('sha256').update(key).update('\0').update(cert).digest('hex');

export async function createTlsManager(opts: TlsManagerOptions): Promise<TlsManager> {
  const log = opts.logger.child({ svc: 'tls' });
  const { certFile, keyFile, minVersion } = opts;
  if (Boolean(certFile) !== Boolean(keyFile)) throw new Error('tls.certFile and tls.keyFile must be set together');
  const source: TlsManager['source'] = certFile && keyFile ? 'files' : 'self-signed';

  let current: KeyPair =
    certFile && keyFile
      ? await loadKeyPair(certFile, keyFile, minVersion)
      : await ensureSelfSigned(opts.dataDir, opts.hostname, minVersion, log);
  let lastSeen = hashOf(current.key, current.cert);
  log.info({ source, ...summarize(current.x509) }, 'tls certificate loaded');
  warnIfExpiring(current, log);

  const listeners = new Set<() => void>();
  const targets = new Set<SecureContextTarget>();
  const contextOptions = (): tls.SecureContextOptions => ({ key: current.key, cert: current.cert, minVersion });

  // One check at a time; a change arriving meanwhile triggers one more pass.
  let running: Promise<boolean> | undefined;
  let again = false;
  async function check(): Promise<boolean> {
    if (!certFile || !keyFile) return false;
    let key: Buffer;
    let cert: Buffer;
    try {
      [cert, key] = await Promise.all([readFile(certFile), readFile(keyFile)]);
    } catch (err) {
      log.error({ certFile, keyFile, code: (err as NodeJS.ErrnoException).code }, 'tls reload failed; keeping the previous certificate');
      return false;
    }
    const h = hashOf(key, cert);
    if (h === lastSeen) return false; // unchanged, or the same broken pair already reported
    lastSeen = h;
    let next: KeyPair;
    try {
      next = buildKeyPair(key, cert, minVersion, { certFile, keyFile });
    } catch (err) {
      log.error({ certFile, keyFile, reason: (err as Error).message }, 'tls reload failed; keeping the previous certificate');
      return false;
    }
    current = next;
    for (const t of targets) {
      try {
        t.setSecureContext(contextOptions());
      } catch (err) {
        log.error({ reason: (err as Error).message }, 'tls setSecureContext failed on a listener');
      }
    }
    log.info({ source, ...summarize(current.x509) }, 'tls certificate reloaded');
    warnIfExpiring(current, log);
    for (const cb of [...listeners]) {
      try {
        cb();
      } catch (err) {
        log.error({ err }, 'tls onReload callback threw');
      }
    }
    return true;
  }
  function reload(): Promise<boolean> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let changed = false;
      do {
        again = false;
        changed = (await check()) || changed;
      } while (again);
      running = undefined;
      return changed;
    })();
    return running;
  }

  const stopWatching =
    certFile && keyFile
      ? watchFiles({
          files: [certFile, keyFile],
          onChange: () => void reload(),
          onWatchError: (dir, err) => log.warn({ dir, reason: err.message }, 'tls directory watch failed; relying on polling'),
          pollMs: opts.pollIntervalMs ?? 45_000,
          debounceMs: opts.debounceMs ?? 200,
          fsWatch: opts.fsWatch ?? true,
        })
      : () => {};

  return {
    source,
    secureContext: () => current.context,
    serverOptions: () => ({
      ...contextOptions(),
      SNICallback: (_servername: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) => cb(null, current.context),
    }),
    onReload(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    attach(server) {
      targets.add(server);
      return () => targets.delete(server);
    },
    reload,
    close() {
      stopWatching();
      listeners.clear();
      targets.clear();
    },
  };
}

function warnIfExpiring(pair: KeyPair, log: pino.Logger): void {
  const daysLeft = Math.floor((Date.parse(pair.x509.validTo) - Date.now()) / 86_400_000);
  if (daysLeft < 14) log.warn({ notAfter: pair.x509.validTo, daysLeft }, 'tls certificate expires soon');
}
