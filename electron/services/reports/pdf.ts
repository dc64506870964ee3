// The PDF of a signed report, made with pdf-lib: patient and study, the template's sections,
// key images, the AI disclosure, the signature block with the content hash, and addenda.
import { PDFDocument, StandardFonts, rgb, type PDFFont, type PDFPage } from 'pdf-lib';
import { AI_NOTICE, REPORT_SECTIONS, REPORT_SECTION_LABELS, WorkstationError, type Report } from '../../contract';
import { formatDicomDate, fmtPercent } from './template';

export interface PdfInput {
  report: Pick<Report, 'id' | 'status' | 'sections' | 'aiFinding' | 'aiDecision' | 'rejectReason' | 'signedByName' | 'signedAt' | 'contentHash' | 'addenda' | 'study'>;
  keyImages: { caption: string; png: Buffer }[];
  institution?: string;
}

const A4 = { w: 595.28, h: 841.89 };
const MARGIN = 50;
const SUBSTITUTES: Record<string, string> = { '→': '->', '≥': '>=', '≤': '<=', '±': '+/-', '\u2009': ' ', '\u00a0': ' ', '\t': '    ' };

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
    private readonly doc: PDFDocument,
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
