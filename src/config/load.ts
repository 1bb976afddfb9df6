// Start-up configuration: built-in defaults < YAML file < MAILSERVER__* environment.
// Runs once before anything listens, so it fails loudly with one line per problem.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import YAML, { LineCounter } from 'yaml';
import { applyEnvOverrides, resolveSecretFiles } from './env.js';
import { ConfigError, describeIssue, pathText } from './errors.js';
import { walk } from './introspect.js';
import { configSchema, type ResolvedConfig } from './schema.js';

export { ConfigError } from './errors.js';

export interface LoadOptions {
  /** Config file; else $MAILSERVER_CONFIG; else none (built-in defaults). */
  path?: string;
  env?: NodeJS.ProcessEnv;
  /** Base for a relative `path`, and for relative paths inside when there is no file. */
  cwd?: string;
}

type Obj = Record<string, unknown>;

/** Absolute path of the config file that `loadConfig` would read, or undefined. */
export function configPathFrom(opts: LoadOptions): string | undefined {
  const env = opts.env ?? process.env;
  const file = opts.path || env.MAILSERVER_CONFIG || undefined;
  return file ? path.resolve(opts.cwd ?? process.cwd(), file) : undefined;
}

interface Parsed {
  raw: Obj;
  lineOf: (p: readonly PropertyKey[]) => number | undefined;
}

async function readYaml(file: string): Promise<Parsed> {
  const where = `config ${file}`;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${where}: cannot read file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const lineCounter = new LineCounter();
  const doc = YAML.parseDocument(text, { uniqueKeys: true, prettyErrors: false, lineCounter });
  const err = doc.errors[0];
  if (err) {
    const pos = lineCounter.linePos(err.pos[0]);
    const msg = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, '');
    throw new ConfigError(`${where}: line ${pos.line}, column ${pos.col}: ${msg}`);
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  if (raw === null || raw === undefined) return { raw: {}, lineOf: () => undefined };
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${where}: expected a mapping of keys at the top level`);
  return {
    raw: raw as Obj,
    lineOf: (p) => {
      const node = doc.getIn(p as unknown[], true) as { range?: [number, number, number] } | undefined;
      return node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
    },
  };
}

function valueAt(root: unknown, p: readonly PropertyKey[]): unknown {
  let cur = root;
  for (const seg of p) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

function originOf(origins: Map<string, string>, p: readonly PropertyKey[]): string | undefined {
  for (let n = p.length; n > 0; n--) {
    const hit = origins.get(pathText(p.slice(0, n)));
    if (hit) return hit;
  }
  return undefined;
}

export async function loadConfig(opts: LoadOptions = {}): Promise<ResolvedConfig> {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const file = configPathFrom({ ...opts, env, cwd });
  const parsed: Parsed = file ? await readYaml(file) : { raw: {}, lineOf: () => undefined };
  const raw = parsed.raw;
  const baseDir = file ? path.dirname(file) : cwd;
  const source = file ? `config ${file}` : 'built-in defaults';

  const origins = applyEnvOverrides(configSchema, raw, env);
  try {
    await resolveSecretFiles(configSchema, raw, baseDir);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${source}: ${err.message}`);
    throw err;
  }

  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.flatMap((issue) =>
      describeIssue(configSchema, issue, (p) => valueAt(raw, p)).map(({ path: p, text }) => {
        const envName = originOf(origins, p);
        if (envName) return `environment ${envName}: ${text}`;
        const line = parsed.lineOf(p);
        return `${source}: ${text}${line ? ` (line ${line})` : ''}`;
      }),
    );
    throw new ConfigError(problems);
  }
  const cfg = result.data;
  if (Boolean(cfg.tls.certFile) !== Boolean(cfg.tls.keyFile)) {
    throw new ConfigError(`${source}: tls.certFile and tls.keyFile must be set together`);
  }

  // Relative paths are relative to the file that wrote them, as in nginx and Postfix.
  for (const f of walk(configSchema)) {
    if (f.u.kind !== 'path') continue;
    const parent = valueAt(cfg, f.path.slice(0, -1)) as Obj | undefined;
    const key = f.path[f.path.length - 1]!;
    if (parent && typeof parent[key] === 'string') parent[key] = path.resolve(baseDir, parent[key]);
  }
  const dataDir = cfg.dataDir;
  return {
    ...cfg,
    hostname: cfg.hostname ?? os.hostname(),
    mailRoot: cfg.mailRoot ?? path.join(dataDir, 'mail'),
    directory: { ...cfg.directory, path: cfg.directory.path ?? path.join(dataDir, 'directory.sqlite') },
  };
}
