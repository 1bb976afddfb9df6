// Reads the zod schema as data: for env overrides (case-insensitive key lookup), error
// messages ("expected integer 0-65535") and the generated reference. Only the schema
// shapes used in schema.ts are understood; anything else is described as "value".
import { z } from 'zod';
import { fieldKinds, typeNames, type FieldKind } from './fields.js';

type AnySchema = z.core.$ZodType;

export interface Unwrapped {
  /** The schema without optional/default/nullable wrappers. */
  inner: AnySchema;
  optional: boolean;
  hasDefault: boolean;
  defaultValue: unknown;
  description: string | undefined;
  kind: FieldKind | undefined;
}

function defOf(s: AnySchema): Record<string, unknown> & { type: string } {
  return s._zod.def as unknown as Record<string, unknown> & { type: string };
}

export function unwrap(schema: AnySchema): Unwrapped {
  let s = schema;
  const out: Unwrapped = { inner: s, optional: false, hasDefault: false, defaultValue: undefined, description: undefined, kind: undefined };
  for (;;) {
    out.description ??= z.globalRegistry.get(s)?.description;
    out.kind ??= fieldKinds.get(s)?.kind;
    const def = defOf(s);
    if (def.type === 'default' || def.type === 'prefault') {
      if (!out.hasDefault) {
        out.hasDefault = true;
        out.defaultValue = def.defaultValue;
      }
    } else if (def.type === 'optional' || def.type === 'nullable') {
      out.optional = true;
    } else {
      out.inner = s;
      return out;
    }
    s = def.innerType as AnySchema;
  }
}

/** Child schemas of an object node, or undefined for a leaf. */
export function shapeOf(schema: AnySchema): Record<string, AnySchema> | undefined {
  const def = defOf(unwrap(schema).inner);
  return def.type === 'object' ? (def.shape as Record<string, AnySchema>) : undefined;
}

/** The schema at a path of keys (array indexes step into the element). */
export function schemaAt(root: AnySchema, path: readonly PropertyKey[]): AnySchema | undefined {
  let s: AnySchema | undefined = root;
  for (const seg of path) {
    if (!s) return undefined;
    const inner = unwrap(s).inner;
    const def = defOf(inner);
    if (def.type === 'object') s = (def.shape as Record<string, AnySchema>)[String(seg)];
    else if (def.type === 'array') s = def.element as AnySchema;
    else return undefined;
  }
  return s;
}

export function isSecretPath(root: AnySchema, path: readonly PropertyKey[]): boolean {
  const s = schemaAt(root, path);
  return s !== undefined && unwrap(s).kind === 'secret';
}

interface CheckDef {
  check: string;
  [k: string]: unknown;
}

function checksOf(s: AnySchema): CheckDef[] {
  const checks = (defOf(s).checks ?? []) as { _zod: { def: CheckDef } }[];
  return checks.map((c) => c._zod.def);
}

function checkValue(s: AnySchema, check: string, field: string): number | undefined {
  const hit = checksOf(s).find((c) => c.check === check);
  return hit ? (hit[field] as number) : undefined;
}

/** Human words for what a schema accepts, e.g. `integer 0-65535`, `one of info, debug`. */
export function expectedText(schema: AnySchema): string {
  const inner = unwrap(schema).inner;
  const named = typeNames.get(inner)?.name;
  if (named) return named;
  const def = defOf(inner);
  switch (def.type) {
    case 'string': {
      const max = checkValue(inner, 'max_length', 'maximum');
      if (max !== undefined) return `string of at most ${max} character${max === 1 ? '' : 's'}`;
      const min = checkValue(inner, 'min_length', 'minimum');
      return min !== undefined && min > 0 ? 'non-empty string' : 'string';
    }
    case 'number': {
      const checks = checksOf(inner);
      const isInt = checks.some((c) => c.check === 'number_format' && /int/.test(String(c.format)));
      const word = isInt ? 'integer' : 'number';
      const lo = checks.find((c) => c.check === 'greater_than');
      const hi = checks.find((c) => c.check === 'less_than');
      if (lo && hi && lo.inclusive && hi.inclusive) return `${word} ${String(lo.value)}-${String(hi.value)}`;
      if (lo && !hi) {
        if (isInt && lo.value === 0 && !lo.inclusive) return 'positive integer';
        return `${word} ${lo.inclusive ? '>=' : '>'} ${String(lo.value)}`;
      }
      if (hi && !lo) return `${word} ${hi.inclusive ? '<=' : '<'} ${String(hi.value)}`;
      if (lo && hi) return `${word} ${lo.inclusive ? '>=' : '>'} ${String(lo.value)} and ${hi.inclusive ? '<=' : '<'} ${String(hi.value)}`;
      return word;
    }
    case 'boolean':
      return 'true or false';
    case 'enum':
      return `one of ${Object.values(def.entries as Record<string, string>).join(', ')}`;
    case 'literal':
      return `"${(def.values as unknown[]).join('", "')}"`;
    case 'array':
      return `list of ${expectedText(def.element as AnySchema)}`;
    case 'object':
      return 'mapping';
    default:
      return 'value';
  }
}

export interface FieldInfo {
  path: string[];
  schema: AnySchema;
  u: Unwrapped;
  isObject: boolean;
}

/** Depth-first walk over every key, sections before their fields. */
export function walk(root: AnySchema, prefix: string[] = []): FieldInfo[] {
  const shape = shapeOf(root);
  if (!shape) return [];
  const out: FieldInfo[] = [];
  for (const [key, child] of Object.entries(shape)) {
    const path = [...prefix, key];
    const isObject = shapeOf(child) !== undefined;
    out.push({ path, schema: child, u: unwrap(child), isObject });
    if (isObject) out.push(...walk(child, path));
  }
  return out;
}
