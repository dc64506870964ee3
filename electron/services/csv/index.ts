// The one CSV cell writer (and line reader) for every CSV the product writes (audit export, research comparison,
// score results): RFC 4180 quoting, and text that a spreadsheet would run as a formula (a cell
// starting with = + - @, a tab or a carriage return) neutralised with a leading apostrophe.
// Numbers, and text that is only a number (a signed difference such as -0.031), stay as they are.

const FORMULA_START = /^[=+\-@\t\r]/;
const PLAIN_NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export type CsvValue = string | number | boolean | null | undefined;
export interface CsvStyle {
  /** Quote every text cell (the audit export's format), or only where CSV needs it. */
  quoteAll?: boolean;
}

const quote = (s: string): string => '"' + s.replace(/"/g, '""') + '"';

export function csvCell(v: CsvValue, style: CsvStyle = {}): string {
  if (v === null || v === undefined) return style.quoteAll ? '""' : '';
  if (typeof v === 'number' || typeof v === 'boolean') return style.quoteAll ? quote(String(v)) : String(v);
  if (FORMULA_START.test(v) && !PLAIN_NUMBER.test(v)) return quote("'" + v);
  return style.quoteAll || /[",\n\r]/.test(v) ? quote(v) : v;
}

export function csvRow(values: readonly CsvValue[], style: CsvStyle = {}): string {
  return values.map((v) => csvCell(v, style)).join(',');
}

/** A whole document: the header (never quoted: names only), then the rows, each line ended by eol. */
export function csvDocument(header: readonly string[], rows: readonly (readonly CsvValue[])[], options: CsvStyle & { eol?: '\r\n' | '\n' } = {}): string {
  const eol = options.eol ?? '\r\n';
  return [header.map((h) => csvCell(h)).join(','), ...rows.map((r) => csvRow(r, options))].join(eol) + eol;
}

/** Splits one CSV line into its cells (RFC 4180 quotes; a doubled quote inside quotes is one quote). */
export function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (q) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') q = false;
      else cur += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}
