// MAILSERVER__<KEY>__<KEY>=value overrides, and `<secret>File` indirection.
// Keys match the schema case-insensitively, with `_` ignored, so both
// MAILSERVER__TLS__KEYFILE and MAILSERVER__TLS__KEY_FILE reach `tls.keyFile`.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { ConfigError, pathText, suggestKey } from './errors.js';
import { shapeOf, unwrap } from './introspect.js';

export const ENV_PREFIX = 'MAILSERVER__';
type Obj = Record<string, unknown>;

const norm = (s: string) => s.replace(/_/g, '').toLowerCase();
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function secretKeys(shape: Record<string, z.core.$ZodType>): string[] {
  return Object.keys(shape).filter((k) => unwrap(shape[k]!).kind === 'secret');
}

/** Canonical key path for the segments after the prefix, or a ConfigError. */
function resolveEnvPath(schema: z.core.$ZodType, envName: string, segs: string[]): { path: string[]; leaf: z.core.$ZodType | null } {
  const out: string[] = [];
  let node: z.core.$ZodType = schema;
  for (const seg of segs) {
    const shape = shapeOf(node);
    if (!shape) throw new ConfigError(`environment ${envName}: ${pathText(out)} has no sub-keys`);
    const key = Object.keys(shape).find((k) => norm(k) === norm(seg));
    if (key) {
      out.push(key);
      node = shape[key]!;
      continue;
    }
    const secret = secretKeys(shape).find((k) => norm(`${k}File`) === norm(seg));
    if (secret && seg === segs[segs.length - 1]) {
      out.push(`${secret}File`);
      return { path: out, leaf: null };
    }
    const hint = suggestKey(seg, Object.keys(shape));
    throw new ConfigError(`environment ${envName}: unknown key ${pathText([...out, seg.toLowerCase()])}${hint ? ` (did you mean ${hint}?)` : ''}`);
  }
  return { path: out, leaf: node };
}

/** Strings stay verbatim (a password may look like YAML); the rest is a YAML scalar or flow value. */
function parseEnvValue(envName: string, raw: string, leaf: z.core.$ZodType | null): unknown {
  const type = leaf ? (unwrap(leaf).inner._zod.def as { type: string }).type : 'string';
  if (type === 'string' || type === 'enum' || type === 'literal') return raw;
  let v: unknown;
  try {
    v = YAML.parse(raw, { uniqueKeys: true });
  } catch (err) {
    const first = String((err as Error).message).split('\n')[0];
    throw new ConfigError(`environment ${envName}: not a YAML value: ${first}`);
  }
  if (type === 'array' && !Array.isArray(v) && v !== null && v !== undefined) return [v];
  return v;
}

function setPath(root: Obj, p: string[], value: unknown, sibling: string | undefined): void {
  let cur = root;
  for (const seg of p.slice(0, -1)) {
    if (!isObj(cur[seg])) cur[seg] = {};
    cur = cur[seg] as Obj;
  }
  const last = p[p.length - 1]!;
  // The environment wins over the file, whichever of `foo`/`fooFile` the file used.
  if (sibling) delete cur[sibling];
  cur[last] = value;
}

/**
 * Applies every MAILSERVER__ variable to `raw` (mutated). Returns which dotted paths the
 * environment set, so errors can blame the variable instead of the file.
 */
export function applyEnvOverrides(schema: z.core.$ZodType, raw: Obj, env: NodeJS.ProcessEnv): Map<string, string> {
  const origins = new Map<string, string>();
  const names = Object.keys(env)
    .filter((n) => n.toUpperCase().startsWith(ENV_PREFIX) && n.length > ENV_PREFIX.length)
    .sort(); // parents before children: MAILSERVER__LMTP then MAILSERVER__LMTP__PORT
  for (const name of names) {
    const segs = name.slice(ENV_PREFIX.length).split('__');
    if (segs.some((s) => s === '')) throw new ConfigError(`environment ${name}: empty key segment`);
    const { path: p, leaf } = resolveEnvPath(schema, name, segs);
    const last = p[p.length - 1]!;
    const secretKey = leaf === null ? last.slice(0, -'File'.length) : undefined;
    const isSecret = leaf !== null && unwrap(leaf).kind === 'secret';
    setPath(raw, p, parseEnvValue(name, env[name] ?? '', leaf), secretKey ?? (isSecret ? `${last}File` : undefined));
    origins.set(pathText(secretKey ? [...p.slice(0, -1), secretKey] : p), name);
  }
  return origins;
}

/** Replaces `fooFile: /path` by `foo: <file contents>` for every secret key `foo`. */
export async function resolveSecretFiles(schema: z.core.$ZodType, raw: Obj, baseDir: string, prefix: string[] = []): Promise<void> {
  const shape = shapeOf(schema);
  if (!shape) return;
  for (const key of secretKeys(shape)) {
    const fileKey = `${key}File`;
    if (!(fileKey in raw)) continue;
    const where = pathText([...prefix, fileKey]);
    if (key in raw) throw new ConfigError(`${pathText([...prefix, key])} and ${where} are both set; keep one`);
    const file = raw[fileKey];
    if (typeof file !== 'string' || file === '') throw new ConfigError(`${where}: expected a file path`);
    const abs = path.resolve(baseDir, file);
    let text: string;
    try {
      text = await readFile(abs, 'utf8');
    } catch (err) {
      throw new ConfigError(`${where}: cannot read ${abs} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    // Files written by `echo` or secret managers end in a newline that is not part of the secret.
    raw[key] = text.replace(/\r?\n$/, '');
    delete raw[fileKey];
  }
  for (const [key, child] of Object.entries(shape)) {
    if (isObj(raw[key])) await resolveSecretFiles(child, raw[key], baseDir, [...prefix, key]);
  }
}
