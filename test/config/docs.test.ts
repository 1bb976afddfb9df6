// Rule 7 of STYLE.md: the example and the reference must match the schema.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import YAML, { isMap, isScalar, type Pair } from 'yaml';
import { describeSchema, renderReference } from '../../src/config/describe.js';
import { loadConfig } from '../../src/config/load.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const referenceFile = path.join(root, 'docs/configuration.md');
const exampleFile = path.join(root, 'config/example.yaml');
const readmeFile = path.join(root, 'README.md');
const START = '<!-- config-reference:start (generated; node scripts/gen-config-doc.mjs) -->';
const END = '<!-- config-reference:end -->';

/** The README carries the reference tables too, one heading level down. */
function readmeSection(generated: string): string {
  const body = generated.slice(generated.indexOf('## Top level')).replace(/^## /gm, '### ');
  return `${START}\n${body.trim()}\n${END}`;
}

describe('docs/configuration.md', () => {
  test('is what the schema generates', async () => {
    const generated = renderReference();
    // scripts/gen-config-doc.mjs runs this test with the variable set to rewrite the file.
    if (process.env.CONFIG_DOC_WRITE === '1') await writeFile(referenceFile, generated);
    const onDisk = await readFile(referenceFile, 'utf8');
    expect(onDisk, 'docs/configuration.md is stale: run `node scripts/gen-config-doc.mjs`').toBe(generated);
    for (const d of describeSchema()) expect(onDisk).toContain(`\`${d.key}\``);
  });
});

describe('README.md', () => {
  test('carries the same reference', async () => {
    const section = readmeSection(renderReference());
    let readme = await readFile(readmeFile, 'utf8');
    if (process.env.CONFIG_DOC_WRITE === '1') {
      const a = readme.indexOf(START.slice(0, 30));
      const b = readme.indexOf(END);
      if (a < 0 || b < 0) throw new Error('README.md has no config-reference markers');
      readme = readme.slice(0, a) + section + readme.slice(b + END.length);
      await writeFile(readmeFile, readme);
    }
    expect(readme.includes(section), 'README reference is stale: run `node scripts/gen-config-doc.mjs`').toBe(true);
  });
});

describe('config/example.yaml', () => {
  test('loads with the strict schema (so every key in it exists)', async () => {
    // Secrets come from files that exist only in production: point them at a stand-in.
    const dir = await mkdtemp(path.join(tmpdir(), 'example-config-'));
    await writeFile(path.join(dir, 'secret'), 'stand-in\n');
    const text = (await readFile(exampleFile, 'utf8')).replace(/(\w+File: )\/run\/secrets\/\S+/g, `$1${path.join(dir, 'secret')}`);
    await writeFile(path.join(dir, 'example.yaml'), text);
    const cfg = await loadConfig({ path: path.join(dir, 'example.yaml'), env: {} });
    expect(cfg.relay.password).toBe('stand-in');
    expect(cfg.lmtp.port).toBe(24);
    expect(cfg.lmtp.bind).toContain('100.101.102.103');
    expect(cfg.tls.certFile).toMatch(/^\/var\/lib\/tailscale\/certs\//);
    expect(cfg.dataDir).toBe('/var/lib/mailserver');
  });

  test('sets every schema key, each with a comment', async () => {
    const doc = YAML.parseDocument(await readFile(exampleFile, 'utf8'));
    const seen = new Map<string, boolean>();
    const visit = (node: unknown, prefix: string[]) => {
      if (!isMap(node)) return;
      (node.items as Pair[]).forEach((pair, i) => {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        // A comment above a map's first key is stored on the map itself.
        const commented = Boolean(
          (pair.key as { commentBefore?: string }).commentBefore ||
            (pair.value as { comment?: string } | null)?.comment ||
            (i === 0 && node.commentBefore),
        );
        seen.set([...prefix, key].join('.'), commented);
        visit(pair.value, [...prefix, key]);
      });
    };
    visit(doc.contents, []);
    // The first key's comment belongs to the document when a blank line separates them.
    const first = [...seen.keys()][0]!;
    if (doc.commentBefore) seen.set(first, true);
    // A secret may be shown by its `<key>File` form: the value itself never goes in a file in the repo.
    const missing = describeSchema().map((d) => d.key).filter((k) => !seen.has(k) && !seen.has(`${k}File`));
    expect(missing, 'keys missing from config/example.yaml').toEqual([]);
    const uncommented = [...seen].filter(([, c]) => !c).map(([k]) => k);
    expect(uncommented, 'keys without a comment in config/example.yaml').toEqual([]);
  });
});
