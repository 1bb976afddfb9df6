// `mailserver import postfix`: the outbound smart host and the aliases of a Postfix
// install. main.cf gives relayhost, smtp_sasl_password_maps, virtual_alias_maps and the
// virtual domains; the maps are read from their source text files (the file the
// hash:/lmdb: table was built from with postmap), never from the .db.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DirectoryError, type Directory } from '../directory/types.js';
import { addMissingDomains, ImportError } from './dovecot.js';

/** main.cf: `key = value`, continuation lines start with white space, `$name` expands. */
export function parseMainCf(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let last: string | null = null;
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw) || raw.trim() === '') continue;
    if (/^\s/.test(raw) && last) {
      out.set(last, `${out.get(last)} ${raw.trim()}`);
      continue;
    }
    const m = /^([A-Za-z0-9_]+)\s*=\s*(.*)$/.exec(raw);
    if (m) {
      out.set(m[1]!, m[2]!.trim());
      last = m[1]!;
    }
  }
  const expand = (v: string, depth = 0): string =>
    depth > 10 ? v : v.replace(/\$\{?([A-Za-z0-9_]+)\}?/g, (all, k: string) => (out.has(k) ? expand(out.get(k)!, depth + 1) : all));
  for (const [k, v] of out) out.set(k, expand(v));
  return out;
}

/** `key value` lines of a Postfix lookup table source. */
export function parseMap(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let cur: [string, string] | null = null;
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw) || raw.trim() === '') continue;
    if (/^\s/.test(raw) && cur) {
      cur[1] += ' ' + raw.trim();
      continue;
    }
    const m = /^(\S+)\s+(.*)$/.exec(raw.trim());
    if (m) out.push((cur = [m[1]!, m[2]!.trim()]));
  }
  return out;
}

const tables = (v: string | undefined) => (v ?? '').split(/[\s,]+/).filter(Boolean);

export interface PostfixPlan {
  relay?: { host: string; port: number; implicitTls: boolean; user?: string; password?: string };
  aliases: Array<{ source: string; destinations: string[] }>;
  domains: string[];
  warnings: string[];
}

async function readTable(spec: string, base: string, warnings: string[]): Promise<Array<[string, string]> | null> {
  const m = /^(hash|btree|lmdb|texthash|cdb):(.+)$/.exec(spec);
  if (!m) {
    warnings.push(`table ${spec} is not a file table; not imported`);
    return null;
  }
  const file = path.resolve(base, m[2]!);
  try {
    return parseMap(await readFile(file, 'utf8'));
  } catch {
    warnings.push(`cannot read ${file} (the source text of ${spec})`);
    return null;
  }
}

export async function planPostfixImport(configDir: string): Promise<PostfixPlan> {
  let main: Map<string, string>;
  try {
    main = parseMainCf(await readFile(path.join(configDir, 'main.cf'), 'utf8'));
  } catch {
    throw new ImportError(`cannot read ${path.join(configDir, 'main.cf')}`);
  }
  const warnings: string[] = [];
  const plan: PostfixPlan = { aliases: [], domains: [], warnings };
  const relayhost = main.get('relayhost');
  if (relayhost) {
    const m = /^\[?([^\]:]+)\]?(?::(\d+))?$/.exec(relayhost);
    if (!m) throw new ImportError(`relayhost ${relayhost} not understood`);
    const port = Number(m[2] ?? 25);
    plan.relay = { host: m[1]!, port, implicitTls: port === 465 || main.get('smtp_tls_wrappermode') === 'yes' };
    for (const spec of tables(main.get('smtp_sasl_password_maps'))) {
      const rows = (await readTable(spec, configDir, warnings)) ?? [];
      // Postfix looks the map up by the relayhost as written, then by the bare host.
      const hit = rows.find(([k]) => k === relayhost) ?? rows.find(([k]) => k === m[1]) ?? rows.find(([k]) => k.replace(/^\[|\](:\d+)?$/g, '') === m[1]);
      if (hit) {
        const colon = hit[1].indexOf(':');
        plan.relay.user = hit[1].slice(0, colon);
        plan.relay.password = hit[1].slice(colon + 1);
        break;
      }
    }
  }
  for (const spec of tables(main.get('virtual_alias_maps'))) {
    for (const [src, dest] of (await readTable(spec, configDir, warnings)) ?? []) {
      const destinations = dest.split(/[\s,]+/).filter(Boolean);
      if (!src.includes('@')) {
        warnings.push(`alias ${src}: not an address (local aliases are not imported)`);
        continue;
      }
      plan.aliases.push({ source: src.toLowerCase(), destinations: destinations.map((d) => d.toLowerCase()) });
    }
  }
  for (const key of ['virtual_mailbox_domains', 'virtual_alias_domains', 'mydestination']) {
    for (const d of tables(main.get(key))) {
      if (d.includes(':') || d.includes('$') || d === 'localhost' || d.startsWith('localhost.')) continue;
      if (key === 'mydestination') continue; // the host's own names, not mail domains
      if (!plan.domains.includes(d.toLowerCase())) plan.domains.push(d.toLowerCase());
    }
  }
  for (const a of plan.aliases) {
    const d = a.source.split('@')[1]!;
    if (!plan.domains.includes(d)) plan.domains.push(d);
  }
  return plan;
}

export async function applyAliases(plan: PostfixPlan, dir: Directory, dryRun: boolean): Promise<string[]> {
  const lines = await addMissingDomains(plan.domains, dir, dryRun);
  const live = new Map((await dir.listAliases()).map((a) => [a.source, new Set(a.destinations)]));
  for (const a of plan.aliases) {
    const add = a.destinations.filter((d) => !live.get(a.source)?.has(d));
    if (add.length === 0) continue;
    lines.push(`add alias ${a.source} → ${add.join(', ')}`);
    if (dryRun) continue;
    try {
      await dir.addAlias(a.source, add);
    } catch (err) {
      if (err instanceof DirectoryError) lines.push(`  skipped: ${err.message}`);
      else throw err;
    }
  }
  return lines;
}
