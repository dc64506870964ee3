// Small helpers the research screens share: error text, downloads, number formats and the
// series styles (a colour and a line style per run, so lines stay apart without colour too).
export const msg = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export function download(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export const fmt = (v: number | null | undefined, d = 3): string => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(d));
export const pct = (v: number | null | undefined, d = 1): string => (v === null || v === undefined ? 'n/a' : `${(100 * v).toFixed(d)}%`);
export const ci = (i: { lo: number; hi: number } | null | undefined, percent = false): string =>
  i ? (percent ? ` [${(100 * i.lo).toFixed(1)}, ${(100 * i.hi).toFixed(1)}]` : ` [${i.lo.toFixed(3)}, ${i.hi.toFixed(3)}]`) : '';

/** Colour and dash pattern of series i (runs in a comparison, classes in a ROC plot). */
export const SERIES = [
  { color: '#5fb3ff', dash: [] as number[], name: 'solid' },
  { color: '#ff7b72', dash: [10, 5], name: 'dashed' },
  { color: '#7ee787', dash: [3, 3], name: 'dotted' },
  { color: '#ffcc66', dash: [12, 4, 2, 4], name: 'dash-dot' },
  { color: '#d2a8ff', dash: [6, 3], name: 'short dashes' },
  { color: '#76e3ea', dash: [1, 3], name: 'fine dots' },
  { color: '#f0883e', dash: [16, 6], name: 'long dashes' },
  { color: '#a5d6ff', dash: [8, 3, 2, 3, 2, 3], name: 'dash-dot-dot' },
] as const;
export const seriesStyle = (i: number) => SERIES[i % SERIES.length]!;
