/** What a command prints: JSON for machines (--json), a compact aligned table or key/value lines for people. */
export interface Out {
  json: boolean;
  write(text: string): void;
}

export const stdout: Out = { json: false, write: (text) => void process.stdout.write(text) };

export function printJson(out: Out, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

export type Cell = string | number | boolean | null | undefined;

/** Columns padded to their widest cell; the last column is not padded. */
export function table(headers: string[], rows: Cell[][]): string {
  const text = [headers, ...rows.map((r) => r.map(cell))];
  const widths = headers.map((_, i) => Math.max(...text.map((r) => (r[i] ?? '').length)));
  return `${text.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd()).join('\n')}\n`;
}

/** Key: value lines with the keys aligned. */
export function fields(pairs: Array<[string, Cell]>): string {
  const width = Math.max(...pairs.map(([k]) => k.length)) + 1;
  return `${pairs.map(([k, v]) => `${`${k}:`.padEnd(width)} ${cell(v)}`).join('\n')}\n`;
}

export function cell(value: Cell): string {
  if (value === null || value === undefined || value === '') return '-';
  return String(value).replace(/\s+/g, ' ');
}

/** An instant shortened to the second, in UTC, for tables. */
export function when(iso: string | null | undefined): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, 'Z') : '-';
}
