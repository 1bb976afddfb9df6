// A strict parser for the Prometheus text exposition format (0.0.4): every line must be a
// HELP, TYPE, comment or sample; names, label syntax, escapes and values are checked; each
// sample must belong to the family of the TYPE line before it (histograms: _bucket with
// `le`, _sum, _count). Throws with the line number on anything else.
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string;
  samples: Sample[];
}

const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  let current: Family | null = null;
  if (!text.endsWith('\n')) throw new Error('exposition must end with a line feed');
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line.slice(0, 80))}`;
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (!METRIC.test(name)) throw new Error(`bad metric name, ${where}`);
      let fam = families.get(name);
      if (!fam) {
        fam = { name, type: 'untyped', help: '', samples: [] };
        families.set(name, fam);
      } else if (fam.samples.length > 0) {
        throw new Error(`${kind} after samples of ${name}, ${where}`);
      }
      if (kind === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`bad type, ${where}`);
        fam.type = rest as Family['type'];
      } else {
        fam.help = rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      }
      current = fam;
      return;
    }
    const sample = parseSample(line, where);
    if (!current) throw new Error(`sample before any TYPE, ${where}`);
    const fam: Family = current;
    const allowed =
      fam.type === 'histogram'
        ? [`${fam.name}_bucket`, `${fam.name}_sum`, `${fam.name}_count`]
        : fam.type === 'summary'
          ? [fam.name, `${fam.name}_sum`, `${fam.name}_count`]
          : [fam.name];
    if (!allowed.includes(sample.name)) throw new Error(`sample ${sample.name} outside family ${fam.name}, ${where}`);
    if (fam.type === 'histogram' && sample.name.endsWith('_bucket') && !('le' in sample.labels)) throw new Error(`bucket without le, ${where}`);
    if (fam.type === 'counter' && !(sample.value >= 0)) throw new Error(`negative counter, ${where}`);
    fam.samples.push(sample);
  });
  return families;
}

function parseSample(line: string, where: string): Sample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? ([^ ]+)( -?\d+)?$/.exec(line);
  if (!m) throw new Error(`bad sample, ${where}`);
  const labels: Record<string, string> = {};
  if (m[2]) {
    let s = m[2].slice(1, -1);
    while (s.length > 0) {
      const lm = /^([^=]+)="((?:[^"\\]|\\[\\"n])*)"(,?)/.exec(s);
      if (!lm || !LABEL.test(lm[1]!)) throw new Error(`bad label, ${where}`);
      if (lm[1]! in labels) throw new Error(`duplicate label, ${where}`);
      labels[lm[1]!] = lm[2]!.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
      s = s.slice(lm[0].length);
      if (!lm[3] && s.length > 0) throw new Error(`missing comma between labels, ${where}`);
    }
  }
  const raw = m[3]!;
  // Prometheus reads values with Go's strconv.ParseFloat, which takes NaN and Inf in any
  // letter case; prom-client prints JavaScript's NaN as `Nan` (an idle event-loop monitor).
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(raw);
  if (!special && !/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(raw)) throw new Error(`bad value, ${where}`);
  const value = special ? (special[2]!.toLowerCase() === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity) : Number(raw);
  return { name: m[1]!, labels, value };
}

/** The value of one sample (0 when absent: a counter with that label set was never incremented). */
export function sampleValue(f: Map<string, Family>, family: string, labels: Record<string, string> = {}, name = family): number {
  const fam = f.get(family);
  const s = fam?.samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value ?? 0;
}
