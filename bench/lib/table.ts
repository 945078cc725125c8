// Fixed-width text tables for the console report.

export type Cell = string | number | undefined;

function show(cell: Cell): string {
  if (cell === undefined) return '-';
  if (typeof cell === 'number') {
    if (Number.isNaN(cell)) return '-';
    return Number.isInteger(cell) ? String(cell) : cell.toFixed(Math.abs(cell) >= 100 ? 0 : Math.abs(cell) >= 10 ? 1 : 2);
  }
  return cell;
}

export function formatTable(title: string, header: readonly string[], rows: readonly Cell[][]): string {
  const text = rows.map((row) => row.map(show));
  const widths = header.map((h, i) => Math.max(h.length, ...text.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [`\n${title}`, line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...text.map(line)].join('\n');
}
