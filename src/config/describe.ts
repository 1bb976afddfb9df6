// The configuration reference, generated from the schema so the two cannot drift:
// test/config/docs.test.ts fails when docs/configuration.md differs from renderReference().
import YAML from 'yaml';
import { ENV_PREFIX } from './env.js';
import { expectedText, walk } from './introspect.js';
import { configSchema } from './schema.js';

export interface KeyDoc {
  /** Dotted path, e.g. `lmtp.port`. */
  key: string;
  /** A section (mapping) rather than a value. */
  section: boolean;
  type: string;
  /** Default as YAML text, or undefined when there is none (or it is derived at load). */
  default: string | undefined;
  description: string;
  env: string;
  secret: boolean;
  path: boolean;
}

export function describeSchema(): KeyDoc[] {
  return walk(configSchema).map((f) => ({
    key: f.path.join('.'),
    section: f.isObject,
    type: f.isObject ? 'mapping' : expectedText(f.schema),
    default:
      f.isObject || !f.u.hasDefault ? undefined : YAML.stringify(f.u.defaultValue, { flowCollectionPadding: false, collectionStyle: 'flow' }).trim(),
    description: f.u.description ?? '',
    env: ENV_PREFIX + f.path.map((p) => p.toUpperCase()).join('__'),
    secret: f.u.kind === 'secret',
    path: f.u.kind === 'path',
  }));
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderReference(): string {
  const docs = describeSchema();
  const out: string[] = [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/schema.ts by `node scripts/gen-config-doc.mjs`; do not edit by hand. -->',
    '',
    'The server reads one YAML file: the `--config` option, else `$MAILSERVER_CONFIG`, else none',
    '(built-in defaults: data under `./data`, listeners on 127.0.0.1 only, a self-signed certificate).',
    'A commented production example is `config/example.yaml`; `mailserver check-config` validates a file',
    'without starting anything.',
    '',
    '- **Precedence**: built-in defaults, then the file, then the environment.',
    '- **Environment**: every key can be set as `MAILSERVER__<SECTION>__<KEY>` (case-insensitive,',
    '  `_` inside a name ignored: `MAILSERVER__TLS__KEY_FILE` = `tls.keyFile`). Values are YAML',
    '  scalars or flow collections: `MAILSERVER__LMTP__PORT=24`, `MAILSERVER__LMTP__BIND=[127.0.0.1, 100.101.102.103]`.',
    '  String keys take the value verbatim.',
    '- **Secrets** (marked *secret*): never shown in errors or logs. Instead of `foo: value`, write',
    '  `fooFile: /run/secrets/foo` (or `MAILSERVER__..._FOO_FILE`) to read it from a file; one trailing newline is dropped.',
    "- **Paths** (marked *path*): a relative path is resolved against the config file's directory",
    '  (the working directory when there is no file).',
    '- Unknown keys are errors, with a suggestion for likely typos.',
    '',
  ];
  const top = docs.filter((d) => !d.key.includes('.') && !d.section);
  const sections = docs.filter((d) => d.section);
  const table = (rows: KeyDoc[]) => {
    out.push('| Key | Type | Default | Description |', '|---|---|---|---|');
    for (const d of rows) {
      const marks = [d.path ? '*path*' : '', d.secret ? '*secret*' : ''].filter(Boolean).join(', ');
      const type = marks ? `${d.type} (${marks})` : d.type;
      const def = d.default === undefined ? '—' : `\`${d.default}\``;
      out.push(`| \`${d.key}\` | ${cell(type)} | ${cell(def)} | ${cell(d.description)} Env: \`${d.env}\`. |`);
    }
    out.push('');
  };
  out.push('## Top level', '');
  table(top);
  for (const s of sections) {
    out.push(`## \`${s.key}\``, '', s.description, '');
    table(docs.filter((d) => !d.section && d.key.startsWith(`${s.key}.`) && d.key.split('.').length === s.key.split('.').length + 1));
  }
  return `${out.join('\n').trimEnd()}\n`;
}
