// The PDF of a signed report, made with pdf-lib: patient and study, the template's sections,
// key images, the AI disclosure, the signature block with the content hash, and addenda.
import { PDFDocument, StandardFonts, rgb, type PDFFont, type PDFPage } from 'pdf-lib';
import { AI_NOTICE, REPORT_SECTIONS, REPORT_SECTION_LABELS, WorkstationError, aiLabelText, formatAreaMm2, formatStudyDate, formatVolumeMm3, headlineText, sequenceList, type Report, type Tracking } from '../../contract';
import { formatDicomDate, fmtPercent } from './template';
import type { SignedContext } from './report-rows';

export interface PdfInput {
  report: Pick<Report, 'id' | 'status' | 'sections' | 'aiFinding' | 'aiDecision' | 'rejectReason' | 'signedByName' | 'signedAt' | 'contentHash' | 'addenda' | 'study'>;
  keyImages: { caption: string; png: Buffer }[];
  institution?: string;
  /** The measurements and tumor tracking as at signing (null for reports signed before they were kept). */
  context?: SignedContext | null;
}

const A4 = { w: 595.28, h: 841.89 };
const MARGIN = 50;
const SUBSTITUTES: Record<string, string> = { '→': '->', '−': '-', '…': '...', '≥': '>=', '≤': '<=', '±': '+/-', '\u2009': ' ', '\u00a0': ' ', '\t': '    ' };

/** Replaces characters the standard font cannot encode (WinAnsi), so any text prints. */
function sanitizer(font: PDFFont): (s: string) => string {
  const ok = new Set(font.getCharacterSet());
  return (s) =>
    [...s.normalize('NFC')]
      .map((ch) => {
        if (ok.has(ch.codePointAt(0)!)) return ch;
        const sub = SUBSTITUTES[ch];
        return sub ?? '?';
      })
      .join('');
}

class Writer {
  page: PDFPage;
  y: number;
  constructor(
    readonly doc: PDFDocument,
    readonly font: PDFFont,
    readonly bold: PDFFont,
    readonly clean: (s: string) => string,
  ) {
    this.page = doc.addPage([A4.w, A4.h]);
    this.y = A4.h - MARGIN;
  }
  ensure(height: number): void {
    if (this.y - height < MARGIN + 20) {
      this.page = this.doc.addPage([A4.w, A4.h]);
      this.y = A4.h - MARGIN;
    }
  }
  /** Wraps a paragraph to the page width; explicit newlines start new lines. */
  text(s: string, opts: { size?: number; bold?: boolean; color?: [number, number, number]; indent?: number } = {}): void {
    const size = opts.size ?? 10;
    const font = opts.bold ? this.bold : this.font;
    const width = A4.w - 2 * MARGIN - (opts.indent ?? 0);
    for (const raw of s.split('\n')) {
      const words = this.clean(raw).split(' ');
      let line = '';
      const flush = (): void => {
        this.ensure(size + 4);
        this.page.drawText(line, { x: MARGIN + (opts.indent ?? 0), y: this.y - size, size, font, color: rgb(...(opts.color ?? [0, 0, 0])) });
        this.y -= size + 4;
        line = '';
      };
      for (const w of words) {
        const candidate = line ? `${line} ${w}` : w;
        if (font.widthOfTextAtSize(candidate, size) > width && line) {
          flush();
          line = w;
        } else line = candidate;
        // A single word longer than the line is cut.
        while (font.widthOfTextAtSize(line, size) > width && line.length > 1) {
          let cut = line.length - 1;
          while (cut > 1 && font.widthOfTextAtSize(line.slice(0, cut), size) > width) cut--;
          const rest = line.slice(cut);
          line = line.slice(0, cut);
          flush();
          line = rest;
        }
      }
      flush();
    }
  }
  gap(h = 6): void {
    this.y -= h;
  }
  rule(): void {
    this.ensure(8);
    this.page.drawLine({ start: { x: MARGIN, y: this.y }, end: { x: A4.w - MARGIN, y: this.y }, thickness: 0.5, color: rgb(0.5, 0.5, 0.5) });
    this.y -= 8;
  }
}

/**
 * The tumor over time as a small line chart: the AI volume (cm³, left axis, orange) and the largest
 * diameter (mm, right axis, blue) per study, dates below. Only studies with a measurement are drawn.
 */
function drawTrackingChart(w: Writer, t: Tracking): void {
  const pts = t.points.filter((p) => p.status === 'measured' || p.status === 'no-tumor');
  if (pts.length === 0) return;
  const width = A4.w - 2 * MARGIN - 60;
  const height = 120;
  w.ensure(height + 56);
  const x0 = MARGIN + 30;
  const y0 = w.y - height - 20;
  const grey = rgb(0.55, 0.55, 0.55);
  const page = w.page;
  page.drawLine({ start: { x: x0, y: y0 }, end: { x: x0 + width, y: y0 }, thickness: 0.5, color: grey });
  page.drawLine({ start: { x: x0, y: y0 }, end: { x: x0, y: y0 + height }, thickness: 0.5, color: grey });
  page.drawLine({ start: { x: x0 + width, y: y0 }, end: { x: x0 + width, y: y0 + height }, thickness: 0.5, color: grey });
  const vols = pts.map((p) => (p.volumeMm3 === null ? null : p.volumeMm3 / 1000));
  const diam = pts.map((p) => p.keySlice?.longestMm ?? null);
  const vmax = Math.max(1e-6, ...vols.filter((v): v is number => v !== null)) * 1.15;
  const dmax = Math.max(1e-6, ...diam.filter((v): v is number => v !== null)) * 1.15;
  const xAt = (i: number): number => x0 + (pts.length === 1 ? width / 2 : 12 + (i * (width - 24)) / (pts.length - 1));
  const series = (vals: (number | null)[], max: number, color: ReturnType<typeof rgb>): void => {
    let prev: { x: number; y: number } | null = null;
    vals.forEach((v, i) => {
      if (v === null) return;
      const p = { x: xAt(i), y: y0 + (v / max) * height };
      if (prev) page.drawLine({ start: prev, end: p, thickness: 1.5, color });
      page.drawCircle({ x: p.x, y: p.y, size: 2.5, color });
      prev = p;
    });
  };
  series(vols, vmax, rgb(0.9, 0.45, 0.3));
  series(diam, dmax, rgb(0.2, 0.45, 0.8));
  const label = (text: string, x: number, y: number, color = grey): void => page.drawText(w.clean(text), { x, y, size: 7, font: w.font, color });
  const hasVolume = vols.some((v) => v !== null);
  const hasDiameter = diam.some((v) => v !== null);
  label('0', x0 - 8, y0 - 2);
  if (hasVolume) label(`${vmax.toFixed(vmax < 10 ? 1 : 0)} cm³`, MARGIN - 4, y0 + height - 3, rgb(0.9, 0.45, 0.3));
  if (hasDiameter) label(`${dmax.toFixed(0)} mm`, x0 + width + 3, y0 + height - 3, rgb(0.2, 0.45, 0.8));
  pts.forEach((p, i) => label(formatStudyDate(p.studyDate), xAt(i) - 18, y0 - 10));
  // The legend above the plot, right of the axis labels.
  const legend = [hasVolume ? ['AI volume (cm³, left axis)', rgb(0.9, 0.45, 0.3)] : null, hasDiameter ? ['AI largest diameter (mm, right axis)', rgb(0.2, 0.45, 0.8)] : null].filter((x): x is [string, ReturnType<typeof rgb>] => !!x);
  legend.forEach(([text, color], i) => label(text, x0 + 40 + i * 150, y0 + height + 6, color));
  if (!hasVolume) label('No volume: the slice geometry does not allow one for these studies.', x0 + 40, y0 + height - 10);
  w.y = y0 - 16;
}

/** "Tumor over time": the chart, the change since the prior and the first study, the statements, a row per study. */
function writeTracking(w: Writer, t: Tracking, at: string): void {
  w.text(`Tumor over time (AI, as at signing ${at.slice(0, 10)})`, { size: 11, bold: true });
  drawTrackingChart(w, t);
  if (t.sincePrior) w.text(`Since the prior study: ${t.sincePrior.text}.`, { size: 9 });
  if (t.sinceFirst && t.sinceFirst.fromStudyId !== t.sincePrior?.fromStudyId) w.text(`Since the first study: ${t.sinceFirst.text}.`, { size: 9 });
  for (const s of t.statements) w.text(s, { size: 9, color: [0.55, 0.3, 0] });
  for (const p of t.points) {
    const ks = p.keySlice;
    const parts = [
      `${formatStudyDate(p.studyDate)}${p.current ? ' (this study)' : ''}`,
      p.label ? aiLabelText(p.label) : 'no AI result',
      p.status === 'not-analysable' ? 'most slices could not be analysed' : null,
      p.volumeMm3 !== null ? `volume ${formatVolumeMm3(p.volumeMm3)}` : null,
      ks && p.status === 'measured' && ks.areaMm2 !== null ? `key slice ${formatAreaMm2(ks.areaMm2)}${ks.longestMm !== null ? `, ${ks.longestMm.toFixed(1)} x ${(ks.perpendicularMm ?? 0).toFixed(1)} mm` : ''} (${ks.where})` : null,
      p.modelId ? `model ${p.modelId} ${p.modelVersion}` : null,
      p.radiologist.longestLengthMm !== null ? `radiologist: longest length ${p.radiologist.longestLengthMm.toFixed(1)} mm` : null,
    ].filter(Boolean);
    w.text(parts.join(' · '), { size: 8, indent: 8 });
  }
  w.text(AI_NOTICE, { size: 8, bold: true });
  w.gap();
}

export async function renderReportPdf(input: PdfInput): Promise<Buffer> {
  const { report } = input;
  const signed = report.status === 'final' || report.status === 'rejected';
  if (!signed || !report.signedAt || !report.contentHash) {
    throw new WorkstationError('CONFLICT', 'Only a signed report can be exported as PDF. Sign it first.');
  }
  const doc = await PDFDocument.create();
  doc.setTitle(`Brain MRI report ${formatDicomDate(report.study.studyDate)}`);
  doc.setProducer('TumorPredict Workstation');
  doc.setCreator('TumorPredict Workstation');
  doc.setCreationDate(new Date(report.signedAt));
  doc.setModificationDate(new Date(report.signedAt));
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const bold = await doc.embedFont(StandardFonts.HelveticaBold);
  const w = new Writer(doc, font, bold, sanitizer(font));

  w.text(input.institution ?? 'TumorPredict Workstation', { size: 9, color: [0.35, 0.35, 0.35] });
  w.text('Brain MRI report', { size: 18, bold: true });
  w.text(report.status === 'rejected' ? 'Signed - AI finding rejected by the radiologist' : 'Final - signed', { size: 10, color: [0.1, 0.3, 0.6] });
  w.gap();
  const st = report.study;
  w.text(`Patient: ${st.patientName}    ID: ${st.patientDicomId ?? '-'}    Born: ${formatDicomDate(st.patientBirthDate)}    Sex: ${st.patientSex ?? '-'}`);
  w.text(`Study: ${formatDicomDate(st.studyDate)}    ${st.description ?? ''}    Accession: ${st.accessionNumber ?? '-'}`);
  w.text(`Study Instance UID: ${st.studyInstanceUid}`, { size: 7, color: [0.35, 0.35, 0.35] });
  w.rule();

  for (const key of REPORT_SECTIONS) {
    const section = report.sections[key];
    if (!section.text.trim()) continue;
    w.ensure(40);
    w.text(REPORT_SECTION_LABELS[key], { size: 11, bold: true });
    w.text(section.text);
    w.gap();
  }

  const context = input.context ?? null;
  if (context && context.measurements.length) {
    w.ensure(40);
    w.text('Measurements (radiologist, on the images)', { size: 11, bold: true });
    for (const m of context.measurements) w.text(`${m.text}${m.where ? ` - ${m.where}` : ''}`, { size: 9, indent: 8 });
    w.gap();
  }
  if (context?.tracking && context.tracking.points.length > 1) writeTracking(w, context.tracking, context.at);

  if (input.keyImages.length) {
    w.text('Key images', { size: 11, bold: true });
    for (const ki of input.keyImages) {
      const img = await doc.embedPng(ki.png);
      const maxW = (A4.w - 2 * MARGIN) / 2;
      const scale = Math.min(1, maxW / img.width, 260 / img.height);
      const dw = img.width * scale;
      const dh = img.height * scale;
      w.ensure(dh + 20);
      w.page.drawImage(img, { x: MARGIN, y: w.y - dh, width: dw, height: dh });
      w.y -= dh + 4;
      if (ki.caption) w.text(ki.caption, { size: 8, color: [0.3, 0.3, 0.3] });
      w.gap();
    }
  }

  w.rule();
  w.text('AI disclosure', { size: 11, bold: true });
  const f = report.aiFinding;
  if (f) {
    const decision = report.aiDecision === 'rejected' ? `The radiologist rejected the AI finding. Reason: ${report.rejectReason ?? ''}` : 'The radiologist reviewed the AI finding before signing.';
    w.text(`This report was prepared with the help of an AI model (${f.modelId} ${f.modelVersion}, runtime ${f.runtime}), which suggested: ${f.labelText}, calibrated probability ${fmtPercent(f.probability)}. ${decision}`, { size: 9 });
    const ev = f.evidence;
    if (ev) {
      const parts = [headlineText(ev.headline ?? undefined), ev.validatedSequences.length ? `Validated on ${sequenceList(ev.validatedSequences)} only.` : null].filter(Boolean);
      if (parts.length) w.text(parts.join('. ').replace(/\.\./g, '.'), { size: 9 });
      if (ev.warning) w.text(`Sequence warning: ${ev.warning}`, { size: 9, bold: true });
    }
  } else {
    w.text('No AI result was used for this report.', { size: 9 });
  }
  w.text(AI_NOTICE, { size: 9, bold: true });
  w.gap();

  w.rule();
  w.text('Signature', { size: 11, bold: true });
  w.text(`Electronically signed by ${report.signedByName ?? ''} on ${report.signedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}.`);
  w.text(`Content hash (SHA-256): ${report.contentHash}`, { size: 8 });
  w.text(`Verify with: tumorpredict report verify ${report.id}`, { size: 8, color: [0.35, 0.35, 0.35] });

  for (const a of report.addenda) {
    w.gap();
    w.rule();
    w.text(`Addendum ${a.seq}`, { size: 11, bold: true });
    w.text(a.text);
    w.text(`Signed by ${a.signedByName} on ${a.signedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}. SHA-256: ${a.contentHash}`, { size: 8 });
  }

  const pages = doc.getPages();
  pages.forEach((p, i) => {
    p.drawText(`Page ${i + 1} of ${pages.length}  -  report ${report.id}`, { x: MARGIN, y: 25, size: 7, font, color: rgb(0.4, 0.4, 0.4) });
  });
  return Buffer.from(await doc.save({ useObjectStreams: false }));
}
