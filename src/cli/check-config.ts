// `mailserver check-config`: validate before a restart, so a typo is found while the
// running server still serves mail.
import { ConfigError, configPathFrom, loadConfig } from '../config/load.js';
import type { ResolvedConfig } from '../config/schema.js';
import { loadKeyPair, selfSignedPaths, summarize, TlsFileError } from '../tls/index.js';

interface Out {
  write(s: string): unknown;
}

export interface CheckConfigOptions {
  path?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  stdout?: Out;
  stderr?: Out;
}

interface ListenerLike {
  enabled: boolean;
  bind: string[];
  port: number;
  allow: string[];
}

function isListener(v: unknown): v is ListenerLike {
  return typeof v === 'object' && v !== null && 'bind' in v && 'port' in v && 'enabled' in v;
}

const hostPort = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/** Every section shaped like a listener, so new services show up without changes here. */
export function listenerSummary(cfg: ResolvedConfig): string[] {
  return Object.entries(cfg)
    .filter((e): e is [string, ListenerLike] => isListener(e[1]))
    .map(([name, l]) =>
      l.enabled
        ? `  ${name}: ${l.bind.map((b) => hostPort(b, l.port)).join(', ')} (allow ${l.allow.length ? l.allow.join(', ') : 'anyone'})`
        : `  ${name}: disabled`,
    );
}

async function tlsSummary(cfg: ResolvedConfig): Promise<string> {
  const { certFile, keyFile, minVersion } = cfg.tls;
  if (!certFile || !keyFile) {
    return `  tls: self-signed certificate in ${selfSignedPaths(cfg.dataDir).dir} (created on first start), ${minVersion}+`;
  }
  const s = summarize((await loadKeyPair(certFile, keyFile, minVersion)).x509);
  const expired = Date.parse(s.notAfter) < Date.now() ? ' EXPIRED' : '';
  return `  tls: ${certFile} (${s.subject}; ${s.altNames ?? 'no altNames'}; until ${s.notAfter}${expired}), ${minVersion}+`;
}

export async function checkConfig(opts: CheckConfigOptions): Promise<number> {
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  const load = { env: opts.env ?? process.env, ...(opts.path ? { path: opts.path } : {}), ...(opts.cwd ? { cwd: opts.cwd } : {}) };
  try {
    const cfg = await loadConfig(load);
    const tlsLine = await tlsSummary(cfg);
    const file = configPathFrom(load);
    stdout.write(
      [
        `config OK: ${file ?? 'built-in defaults'}`,
        `  hostname: ${cfg.hostname}`,
        `  data: ${cfg.dataDir} (mail ${cfg.mailRoot}, directory ${cfg.directory.driver} ${cfg.directory.path})`,
        tlsLine,
        ...listenerSummary(cfg),
        '',
      ].join('\n'),
    );
    return 0;
  } catch (err) {
    const known = err instanceof ConfigError || err instanceof TlsFileError;
    stderr.write(`mailserver: ${known ? '' : 'unexpected error: '}${(err as Error).message}\n`);
    return 1;
  }
}
