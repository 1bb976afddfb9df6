// A reader for dovecot.conf (Dovecot 2.3 syntax), enough to take an install over:
// `key = value` settings, nested `name [arg] { … }` sections, `#` comments, and
// `!include` / `!include_try` with globs relative to the including file. Settings inside
// sections are kept per section; later top-level settings override earlier ones, as in
// Dovecot. Values are returned verbatim (variables like %d stay unexpanded).
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

export interface ConfSection {
  type: string;
  name: string;
  settings: Map<string, string>;
  sections: ConfSection[];
}

export class DovecotConfError extends Error {}

async function expandGlob(pattern: string): Promise<string[]> {
  if (!/[*?]/.test(pattern)) return [pattern];
  const dir = path.dirname(pattern);
  const re = new RegExp(`^${path.basename(pattern).replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => re.test(n)).sort().map((n) => path.join(dir, n));
}

export async function readDovecotConf(file: string): Promise<ConfSection> {
  const root: ConfSection = { type: '', name: '', settings: new Map(), sections: [] };
  const stack: ConfSection[] = [root];
  const seen = new Set<string>();

  async function load(f: string, optional: boolean): Promise<void> {
    if (seen.has(f)) return;
    seen.add(f);
    let text: string;
    try {
      text = await readFile(f, 'utf8');
    } catch (err) {
      if (optional) return;
      throw new DovecotConfError(`cannot read ${f} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      let line = lines[i]!.trim();
      // Backslash continues a line.
      while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + ' ' + lines[++i]!.trim();
      if (line === '' || line.startsWith('#')) continue;
      const inc = /^!(include|include_try)\s+(.+)$/.exec(line);
      if (inc) {
        const target = path.resolve(path.dirname(f), inc[2]!.trim());
        for (const g of await expandGlob(target)) await load(g, inc[1] === 'include_try');
        continue;
      }
      if (line === '}') {
        if (stack.length === 1) throw new DovecotConfError(`${f}:${i + 1}: unexpected }`);
        stack.pop();
        continue;
      }
      const open = /^([A-Za-z0-9_-]+)(?:\s+(.*?))?\s*\{$/.exec(line);
      if (open) {
        const s: ConfSection = { type: open[1]!, name: (open[2] ?? '').trim(), settings: new Map(), sections: [] };
        stack[stack.length - 1]!.sections.push(s);
        stack.push(s);
        continue;
      }
      const kv = /^([A-Za-z0-9_/-]+)\s*=\s*(.*)$/.exec(line);
      if (kv) {
        let v = kv[2]!.replace(/\s+#.*$/, '').trim();
        if (/^".*"$/.test(v)) v = v.slice(1, -1);
        stack[stack.length - 1]!.settings.set(kv[1]!, v);
        continue;
      }
      throw new DovecotConfError(`${f}:${i + 1}: cannot read line ${JSON.stringify(line.slice(0, 60))}`);
    }
  }
  await load(path.resolve(file), false);
  return root;
}

/** Sections of one type anywhere below `s` (passdb/userdb may sit at the top or in protocol blocks). */
export function sectionsOf(s: ConfSection, type: string): ConfSection[] {
  return s.sections.flatMap((c) => (c.type === type ? [c] : []).concat(sectionsOf(c, type)));
}

/** `key = value` lines of a dovecot-sql.conf.ext style file. */
export function parseKeyValueFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Za-z0-9_]+)\s*=\s*(.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!.trim());
  }
  return out;
}
