// A small SVG plotter for the self-contained HTML report: ROC curves, reliability diagrams and
// confusion-matrix heat maps, drawn server-side so the report needs no scripts or libraries.
import type { RunMetricsDto } from '../../contract';

export const PALETTE = ['#4e79a7', '#e15759', '#59a14f', '#f28e2b', '#b07aa1', '#76b7b2', '#edc948', '#9c755f'];

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const W = 340;
const H = 300;
const M = { l: 46, r: 12, t: 26, b: 40 };
const PW = W - M.l - M.r;
const PH = H - M.t - M.b;
const px = (x: number): number => M.l + x * PW;
const py = (y: number): number => M.t + (1 - y) * PH;
const n2 = (v: number): string => v.toFixed(1);

function frame(title: string, xLabel: string, yLabel: string): string {
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  let s = `<rect x="${M.l}" y="${M.t}" width="${PW}" height="${PH}" fill="#fff" stroke="#888"/>`;
  for (const t of ticks) {
    s += `<line x1="${n2(px(t))}" y1="${M.t}" x2="${n2(px(t))}" y2="${M.t + PH}" stroke="#eee"/><line x1="${M.l}" y1="${n2(py(t))}" x2="${M.l + PW}" y2="${n2(py(t))}" stroke="#eee"/>`;
    s += `<text x="${n2(px(t))}" y="${M.t + PH + 14}" font-size="10" text-anchor="middle">${t}</text><text x="${M.l - 6}" y="${n2(py(t) + 3)}" font-size="10" text-anchor="end">${t}</text>`;
  }
  s += `<text x="${M.l + PW / 2}" y="${H - 6}" font-size="11" text-anchor="middle">${esc(xLabel)}</text>`;
  s += `<text transform="translate(12 ${M.t + PH / 2}) rotate(-90)" font-size="11" text-anchor="middle">${esc(yLabel)}</text>`;
  s += `<text x="${W / 2}" y="16" font-size="12" font-weight="bold" text-anchor="middle">${esc(title)}</text>`;
  return s;
}

function svg(body: string, w = W, h = H, label = 'plot'): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(label)}" font-family="sans-serif">${body}</svg>`;
}

function legend(items: { name: string; color: string; dash?: string }[]): string {
  return items
    .map(
      (it, i) =>
        `<line x1="${M.l + PW - 150}" y1="${M.t + PH - 12 - i * 14}" x2="${M.l + PW - 132}" y2="${M.t + PH - 12 - i * 14}" stroke="${it.color}" stroke-width="2"${it.dash ? ` stroke-dasharray="${it.dash}"` : ''}/><text x="${M.l + PW - 128}" y="${M.t + PH - 9 - i * 14}" font-size="10">${esc(it.name)}</text>`,
    )
    .join('');
}

/** One-vs-rest ROC curves of one run, one line per class, with each class's AUC in the legend. */
export function rocSvg(m: RunMetricsDto, title: string): string {
  let s = frame(title, 'False positive rate', 'True positive rate');
  s += `<line x1="${px(0)}" y1="${py(0)}" x2="${px(1)}" y2="${py(1)}" stroke="#aaa" stroke-dasharray="4 3"/>`;
  const leg: { name: string; color: string }[] = [];
  m.classes.forEach((cls, i) => {
    const pts = m.roc[cls] ?? [];
    const color = PALETTE[i % PALETTE.length]!;
    if (pts.length > 0) s += `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${n2(px(p.fpr))},${n2(py(p.tpr))}`).join(' ')}"/>`;
    const auc = m.auc[cls];
    leg.push({ name: `${cls} AUC ${auc === null || auc === undefined ? 'n/a' : auc.toFixed(3)}`, color });
  });
  return svg(s + legend(leg), W, H, title);
}

/** Reliability diagram: fraction correct per confidence bin (dots sized by count) against the diagonal, for one or two runs. */
export function reliabilitySvg(runs: { name: string; m: RunMetricsDto }[], title: string): string {
  let s = frame(title, 'Confidence', 'Fraction correct');
  s += `<line x1="${px(0)}" y1="${py(0)}" x2="${px(1)}" y2="${py(1)}" stroke="#aaa" stroke-dasharray="4 3"/>`;
  const leg: { name: string; color: string }[] = [];
  runs.forEach((r, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const bins = r.m.reliability.filter((b) => b.count > 0 && b.confidence !== null && b.accuracy !== null);
    const max = Math.max(1, ...bins.map((b) => b.count));
    if (bins.length > 1) s += `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${bins.map((b) => `${n2(px(b.confidence!))},${n2(py(b.accuracy!))}`).join(' ')}"/>`;
    for (const b of bins) s += `<circle cx="${n2(px(b.confidence!))}" cy="${n2(py(b.accuracy!))}" r="${n2(2 + 5 * Math.sqrt(b.count / max))}" fill="${color}" fill-opacity="0.7"><title>${b.lo.toFixed(1)}-${b.hi.toFixed(1)}: ${b.count} items</title></circle>`;
    leg.push({ name: `${r.name} ECE ${r.m.ece === null ? 'n/a' : r.m.ece.toFixed(3)}`, color });
  });
  return svg(s + legend(leg), W, H, title);
}

/** Confusion matrix as a heat map; cells shaded by the row fraction, labelled with counts. */
export function confusionSvg(m: RunMetricsDto, title: string): string {
  const { rows, cols, matrix } = m.confusion;
  const cell = 46;
  const left = 96;
  const top = 74;
  const w = left + cols.length * cell + 60;
  const h = top + rows.length * cell + 30;
  let s = `<text x="${w / 2}" y="16" font-size="12" font-weight="bold" text-anchor="middle">${esc(title)}</text>`;
  s += `<text x="${left + (cols.length * cell) / 2}" y="32" font-size="10" text-anchor="middle">predicted</text>`;
  cols.forEach((c, j) => {
    s += `<text transform="translate(${left + j * cell + cell / 2} ${top - 6}) rotate(-35)" font-size="10">${esc(c)}</text>`;
  });
  rows.forEach((r, i) => {
    const total = (matrix[i] ?? []).reduce((a, b) => a + b, 0);
    s += `<text x="${left - 6}" y="${top + i * cell + cell / 2 + 4}" font-size="10" text-anchor="end">${esc(r)}</text>`;
    cols.forEach((_c, j) => {
      const v = matrix[i]?.[j] ?? 0;
      const f = total ? v / total : 0;
      const shade = Math.round(255 - 200 * f);
      s += `<rect x="${left + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="rgb(${shade},${shade},255)" stroke="#fff"/>`;
      s += `<text x="${left + j * cell + cell / 2}" y="${top + i * cell + cell / 2 + 4}" font-size="11" text-anchor="middle" fill="${f > 0.6 ? '#fff' : '#000'}">${v}</text>`;
    });
  });
  s += `<text x="10" y="${top + (rows.length * cell) / 2}" font-size="10" transform="rotate(-90 10 ${top + (rows.length * cell) / 2})" text-anchor="middle">truth</text>`;
  return svg(s, w, h, title);
}

/** Grouped bars of per-class F1 for two runs. */
export function f1BarsSvg(a: { name: string; m: RunMetricsDto }, b: { name: string; m: RunMetricsDto }, title: string): string {
  let s = frame(title, 'class', 'F1');
  const classes = a.m.classes;
  const gw = PW / Math.max(1, classes.length);
  const bw = gw * 0.35;
  classes.forEach((cls, i) => {
    [a, b].forEach((r, k) => {
      const v = r.m.perClass.find((c) => c.cls === cls)?.f1 ?? null;
      const x = M.l + i * gw + gw * 0.15 + k * bw;
      if (v !== null) s += `<rect x="${n2(x)}" y="${n2(py(v))}" width="${n2(bw)}" height="${n2(py(0) - py(v))}" fill="${PALETTE[k]}"><title>${esc(r.name)} ${esc(cls)}: ${v.toFixed(3)}</title></rect>`;
      else s += `<text x="${n2(x + bw / 2)}" y="${n2(py(0) - 4)}" font-size="9" text-anchor="middle">n/a</text>`;
    });
    s += `<text x="${n2(M.l + i * gw + gw / 2)}" y="${M.t + PH + 26}" font-size="9" text-anchor="middle">${esc(cls)}</text>`;
  });
  return svg(s + legend([{ name: a.name, color: PALETTE[0]! }, { name: b.name, color: PALETTE[1]! }]), W, H, title);
}
