// Start-up errors: one line that names where the value came from, the key, the value and
// what was expected, so an operator can fix the file without reading code.
import type { z } from 'zod';
import { expectedText, isSecretPath, schemaAt, shapeOf } from './introspect.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
  /** Every problem found, each a full line; `message` joins them. */
  readonly problems: string[];
  constructor(problems: string[] | string) {
    const list = Array.isArray(problems) ? problems : [problems];
    super(list.join('; '));
    this.problems = list;
  }
}

/** Edit distance counting a swap of neighbours as one edit (`prot` → `port`). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest known key, if it is close enough to be a typo. */
export function suggestKey(unknown: string, known: readonly string[]): string | undefined {
  const lower = unknown.toLowerCase();
  let best: string | undefined;
  let bestDist = Infinity;
  for (const k of known) {
    const d = k.toLowerCase() === lower ? 0 : editDistance(lower, k.toLowerCase());
    if (d < bestDist) {
      bestDist = d;
      best = k;
    }
  }
  const limit = Math.max(1, Math.floor(unknown.length / 3));
  return bestDist <= limit ? best : undefined;
}

export function formatValue(value: unknown, secret: boolean): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (secret) return `a ${Array.isArray(value) ? 'list' : typeof value} (hidden)`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  const s = JSON.stringify(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

export function pathText(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

function unknownKeyText(schema: z.core.$ZodType, parent: readonly PropertyKey[], key: string): string {
  const shape = shapeOf(schemaAt(schema, parent) ?? schema);
  const hint = shape ? suggestKey(key, Object.keys(shape)) : undefined;
  return `unknown key ${pathText([...parent, key])}${hint ? ` (did you mean ${hint}?)` : ''}`;
}

export interface Problem {
  /** Path of the offending key, for locating it in the file. */
  path: PropertyKey[];
  text: string;
}

/** One problem per zod issue; `unrecognized_keys` becomes one per key. */
export function describeIssue(
  schema: z.core.$ZodType,
  issue: z.core.$ZodIssue,
  valueAt: (path: readonly PropertyKey[]) => unknown,
): Problem[] {
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => ({ path: [...path, k], text: unknownKeyText(schema, path, k) }));
  }
  const node = schemaAt(schema, path);
  const value = valueAt(path);
  const got = formatValue(value, isSecretPath(schema, path));
  const where = path.length ? pathText(path) : '(top level)';
  let expected: string;
  if (issue.code === 'custom') expected = issue.message.replace(/^expected /, '');
  else if (issue.code === 'too_small' && issue.origin === 'array') expected = `list of at least ${String(issue.minimum)} item(s)`;
  else expected = node ? expectedText(node) : issue.message;
  return [{ path, text: `${where}: expected ${expected}, got ${got}` }];
}
