// Exports of a signed report: the PDF renders with poppler (text and the key image are there),
// and the Encapsulated PDF and the TID 1500 SR parse back with dcmjs with the right codes,
// VERIFIED with the verifying observer once signed and UNVERIFIED before; dcmtk reads the SR.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReportsFixture, solidPng, type ReportsFixture, SIGN } from '../../testing/reports';
import { readPart10 } from '../dicom-objects';
import { CODES, COMPREHENSIVE_SR_SOP_CLASS_UID } from './dicom/sr';
import { ENCAPSULATED_PDF_SOP_CLASS_UID } from './dicom/encapsulated-pdf';
import type { Report } from '../../contract';

let fx: ReportsFixture;
let signed: Report;
let tmp: string;
let unsignedSr: Buffer;

function tool(name: string, pkg: string): string {
  try {
    execFileSync('which', [name], { stdio: 'pipe' });
    return name;
  } catch {
    throw new Error(`${name} is not installed: apt-get install ${pkg}`);
  }
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-report-export-'));
  fx = await createReportsFixture();
  const rad = fx.actors.radiologist;
  let r = fx.reports.open(fx.studyId, rad);
  unsignedSr = (await fx.reports.dicomObjects(r.id, rad)).sr;
  r = fx.reports.acceptAi(r.id, rad);
  r = fx.reports.addKeyImage({ reportId: r.id, png: solidPng(120, 120, [230, 20, 20]), caption: 'Axial T1, AI overlay' }, rad);
  const s = fx.reports.saveDraft({ reportId: r.id, baseRevision: r.revision, sections: { impression: 'Right frontal glioma, 30 mm² larger than 2023.', recommendation: 'Neurosurgical referral.' }, notes: 'INTERNAL-NOTE-MARKER' }, rad);
  signed = await fx.reports.sign(r.id, s.revision, rad, SIGN);
});
afterAll(async () => {
  await fx?.close();
  if (fx) fs.rmSync(fx.dir, { recursive: true, force: true });
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the PDF', () => {
  it('renders with poppler, with the text, the key image, the AI disclosure, the signature and the hash', async () => {
    const out = await fx.reports.exportPdf(signed.id, fx.actors.radiologist);
    expect(out.pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const file = path.join(tmp, 'report.pdf');
    fs.writeFileSync(file, out.pdf);
    const text = execFileSync(tool('pdftotext', 'poppler-utils'), ['-layout', file, '-'], { encoding: 'utf8' });
    expect(text).toContain('Brain MRI report');
    expect(text).toContain('Right frontal glioma');
    expect(text).toContain('Neurosurgical referral.');
    expect(text).toContain('Not a medical device');
    expect(text).toContain('tumor-cnn 1.2.0');
    expect(text).toContain('Electronically signed by Dr. Ada Reader');
    expect(text.replace(/\s+/g, '')).toContain(signed.contentHash!);
    expect(text).toContain('Patient: CompressedSamples, MR1');
    expect(text).toContain('Location: right hemisphere, central; key slice series 1, image 1.');
    expect(text).toMatch(/Size: 5\.\d x 5\.\d mm \(largest diameter and its perpendicular on that slice\)/);
    expect(text).not.toMatch(/% across/);
    // Internal notes never leave the workstation.
    expect(text).not.toContain('INTERNAL-NOTE-MARKER');
    const images = execFileSync(tool('pdfimages', 'poppler-utils'), ['-list', file], { encoding: 'utf8' });
    expect(images.split('\n').filter((l) => /^\s+1\s+\d+\s+image\s+120\s+120/.test(l))).toHaveLength(1);
    // Rendered to a PNG, the page shows the red key image.
    execFileSync(tool('pdftoppm', 'poppler-utils'), ['-png', '-r', '50', '-f', '1', '-l', '1', file, path.join(tmp, 'page')]);
    const pngFile = fs.readdirSync(tmp).find((f) => f.startsWith('page') && f.endsWith('.png'))!;
    const page = PNG.sync.read(fs.readFileSync(path.join(tmp, pngFile)));
    let red = 0;
    for (let i = 0; i < page.width * page.height; i++) {
      const [r, g, b] = [page.data[i * 4]!, page.data[i * 4 + 1]!, page.data[i * 4 + 2]!];
      if (r > 200 && g < 60 && b < 60) red++;
    }
    expect(red).toBeGreaterThan(400);
  });

  it('refuses a report that is not signed', async () => {
    const draft = fx.reports.open(fx.priorStudyId, fx.actors.radiologist);
    await expect(fx.reports.exportPdf(draft.id, fx.actors.radiologist)).rejects.toMatchObject({ code: 'CONFLICT' });
  });
});

describe('the DICOM objects', () => {
  const queued = (kind: string): Buffer => (fx.db().prepare('SELECT content FROM sync_outbox WHERE kind = ? ORDER BY id LIMIT 1').get(kind) as { content: Buffer }).content;

  it('the Encapsulated PDF in the outbox parses back with the PDF inside', () => {
    const ds = readPart10(queued('pdf'));
    expect(ds.SOPClassUID).toBe(ENCAPSULATED_PDF_SOP_CLASS_UID);
    expect(ds.SOPInstanceUID).toBe(signed.pdfSopInstanceUid);
    expect(ds.StudyInstanceUID).toBe(signed.study.studyInstanceUid);
    expect(ds.Modality).toBe('DOC');
    expect(JSON.stringify(ds.PatientName)).toContain('CompressedSamples^MR1');
    expect(ds.MIMETypeOfEncapsulatedDocument).toBe('application/pdf');
    expect((ds.ConceptNameCodeSequence as Record<string, string>[])[0]).toMatchObject({ CodeValue: '18748-4', CodingSchemeDesignator: 'LN' });
    const docs = ds.EncapsulatedDocument as ArrayBuffer[];
    const pdf = Buffer.from(Array.isArray(docs) ? docs[0]! : (docs as unknown as ArrayBuffer));
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(Number(ds.EncapsulatedDocumentLength)).toBeLessThanOrEqual(pdf.length);
  });

  it('the SR in the outbox is a TID 1500 report, VERIFIED by the signer, with the finding and its measurement', () => {
    const ds = readPart10(queued('sr'));
    expect(ds.SOPClassUID).toBe(COMPREHENSIVE_SR_SOP_CLASS_UID);
    expect(ds.SOPInstanceUID).toBe(signed.srSopInstanceUid);
    expect(ds.VerificationFlag).toBe('VERIFIED');
    expect(ds.CompletionFlag).toBe('COMPLETE');
    const v = (ds.VerifyingObserverSequence as Record<string, unknown>[])[0]!;
    // The name in DICOM PN form (Family^Given^Middle^Prefix), with the account as identifier.
    expect(JSON.stringify(v.VerifyingObserverName)).toContain('Reader^Ada^^Dr.');
    expect((v.VerifyingObserverIdentificationCodeSequence as Record<string, string>[])[0]).toMatchObject({ CodeValue: 'radiologist1', CodingSchemeDesignator: '99TPWUSR', CodeMeaning: 'Dr. Ada Reader' });
    expect(v.VerifyingOrganization).toBe('Test Hospital');
    expect(ds.InstitutionName).toBe('Test Hospital');
    expect((ds.ContentTemplateSequence as Record<string, string>[])[0]).toMatchObject({ MappingResource: 'DCMR', TemplateIdentifier: '1500' });
    expect((ds.ConceptNameCodeSequence as Record<string, string>[])[0]).toMatchObject(CODES.imagingMeasurementReport);
    type Item = Record<string, unknown> & { ConceptNameCodeSequence: Record<string, string>[]; ContentSequence?: Item[] };
    const all: Item[] = [];
    const walk = (items: Item[] | undefined): void => {
      for (const it of items ?? []) {
        all.push(it);
        walk(it.ContentSequence);
      }
    };
    walk(ds.ContentSequence as Item[]);
    const byCode = (c: { CodeValue: string }): Item[] => all.filter((i) => i.ConceptNameCodeSequence?.[0]?.CodeValue === c.CodeValue);
    expect(byCode(CODES.procedureReported)[0]!.ConceptCodeSequence).toEqual([expect.objectContaining({ CodeValue: '24590-2', CodingSchemeDesignator: 'LN' })]);
    // Observer context: the signing radiologist (person), then the model (device).
    expect(byCode(CODES.observerType).map((o) => (o.ConceptCodeSequence as Record<string, string>[])[0]!.CodeValue)).toEqual(['121006', '121007']);
    expect(JSON.stringify(byCode(CODES.personObserverName)[0]!.PersonName)).toContain('Reader^Ada^^Dr.');
    expect(byCode(CODES.personObserverOrganization)[0]!.TextValue).toBe('Test Hospital');
    expect(byCode(CODES.deviceObserverUid)[0]!.UID).toMatch(/^2\.25\.\d+$/);
    expect(byCode(CODES.deviceObserverName)[0]!.TextValue).toBe('tumor-cnn');
    // A standard SNOMED CT code for the finding, no private scheme.
    expect((byCode(CODES.finding)[0]!.ConceptCodeSequence as Record<string, string>[])[0]).toMatchObject({ CodeValue: '393564001', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Glioma' });
    expect(JSON.stringify(ds)).not.toContain('99TPW"');
    expect((byCode(CODES.findingSite)[0]!.ConceptCodeSequence as Record<string, string>[])[0]!.CodeValue).toBe('12738006');
    const area = byCode(CODES.area)[0]!;
    const mv = (area.MeasuredValueSequence as Record<string, unknown>[])[0]!;
    expect(Number(mv.NumericValue)).toBeCloseTo(signed.aiFinding!.areaMm2!, 3);
    expect((mv.MeasurementUnitsCodeSequence as Record<string, string>[])[0]).toMatchObject({ CodeValue: 'mm2', CodingSchemeDesignator: 'UCUM' });
    expect((byCode(CODES.imageLibraryGroup)[0]!.ContentSequence ?? []).some((i) => i.ValueType === 'IMAGE')).toBe(true);
    // The report's sections as text items.
    expect(byCode(CODES.impressions)[0]!.TextValue).toBe(signed.sections.impression.text);
    expect(byCode(CODES.findings)[0]!.TextValue).toBe(signed.sections.findings.text);
    expect(JSON.stringify(ds.CurrentRequestedProcedureEvidenceSequence)).toContain('1.2.826.0.1.3680043.10.999.1.3');
  });

  it('an SR made before signing is UNVERIFIED with no verifying observer', () => {
    const ds = readPart10(unsignedSr);
    expect(ds.VerificationFlag).toBe('UNVERIFIED');
    expect(ds.VerifyingObserverSequence).toBeUndefined();
  });

  it("dcmtk's dsrdump reads the SR as a valid structured report", () => {
    const file = path.join(tmp, 'sr.dcm');
    fs.writeFileSync(file, queued('sr'));
    const out = execFileSync(tool('dsrdump', 'dcmtk'), ['-Ei', '-Ee', '-Ec', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toContain('Comprehensive SR');
    expect(out).toContain('Imaging Measurement Report');
    expect(out).toContain('VERIFIED');
  });
});
