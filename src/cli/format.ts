// List output: plain text, one record per line, columns padded so they line up and
// stay easy to cut/awk (no header, no colours).

export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

export const quotaText = (mb: number) => (mb === 0 ? 'unlimited' : `${mb} MB`);
export const activeText = (active: boolean) => (active ? 'active' : 'disabled');
