// CSV formula injection (issue 12, finding 8): every CSV the product writes goes through one cell
// writer, so a file named "=HYPERLINK(...)" or a username "@SUM(...)" reaches a spreadsheet as
// text, in the research comparison, the score results and the audit export alike.
import { describe, expect, it } from 'vitest';
import type { Comparison, RunSummary } from '../../contract';
import { comparisonCsv, type StoredResult } from '../research/compare';
import { itemsCsv } from '../research/run-items';
import { csvCell, csvDocument } from '.';
import { HOSTILE, parseLine, runnable } from '../../testing/csv';

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
    const results: StoredResult[] = HOSTILE.map((h, idx) => ({ idx, itemId: h, truth: '@truth', ok: true, label: 'glioma', confidence: 0.9, probs: { glioma: 0.9, notumor: 0.1 }, dice: null, ms: 1, error: null, source: '=src', sequence: null }));
    const csv = comparisonCsv(c, results, results);
    const lines = csv.split('\n').filter((l) => l !== '');
    expect(lines.filter(runnable)).toEqual([]);
    expect(csv).toContain('-0.1'); // the difference is still a number to the spreadsheet
  });

  it('the items CSV of a run writes its header through the same writer: a class name with a comma or quote stays one column', () => {
    const classes = ['glioma', 'low,grade "LGG"'];
    const run = { id: 'run-1', modelId: 'tumornet', modelVersion: '1.0.0', settings: { classes } } as unknown as RunSummary;
    const items: StoredResult[] = [{ idx: 0, itemId: '=HYPERLINK("x")', truth: 'glioma', ok: true, label: 'glioma', confidence: 0.9, probs: { glioma: 0.9, 'low,grade "LGG"': 0.1 }, dice: null, ms: 1, error: null, source: null, sequence: null }];
    const [header, row] = itemsCsv(run, items).split('\n');
    expect(parseLine(header!)).toEqual(['item', 'truth', 'predicted', 'confidence', 'correct', 'source', 'sequence', 'p_glioma', 'p_low,grade "LGG"', 'dice', 'model', 'model_version', 'run']);
    expect(parseLine(row!)).toHaveLength(parseLine(header!).length);
    expect(runnable(row!)).toBe(false);
  });
});
