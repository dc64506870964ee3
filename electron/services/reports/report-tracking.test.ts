// A report as a radiologist writes it, with measurements and tracking wired in as compose.ts does:
// the draft names the side (from Image Orientation), the size in mm (largest diameter and its
// perpendicular), the series and image, the change since the prior study, and the radiologist's
// measurements; the signed PDF (read back with poppler) carries the measurements and the tumor
// over time as they stood at signing, whatever is measured afterwards.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReportsFixture, SIGN, type ReportsFixture } from '../../testing/reports';
import type { Report } from '../../contract';

let fx: ReportsFixture;
let tmp: string;
let draft: Report;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-report-tracking-'));
  fx = await createReportsFixture({ withTracking: true });
  const inst = fx.db().prepare('SELECT i.id FROM instances i JOIN series s ON s.id = i.series_id WHERE s.study_id = ?').get(fx.studyId) as { id: string };
  // 50 columns across on 0.3125 mm pixels: 15.6 mm.
  await fx.measurements.save({ instanceId: inst.id, frame: 0, kind: 'length', points: [[5, 20], [55, 20]], label: '' }, fx.actors.radiologist);
  draft = fx.reports.open(fx.studyId, fx.actors.radiologist);
});
afterAll(async () => {
  await fx?.close();
  if (fx) fs.rmSync(fx.dir, { recursive: true, force: true });
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the draft, as a radiologist writes it', () => {
  it('gives the side, the size in mm, the series and image, and never pixels or a percentage of the image', () => {
    const f = draft.sections.findings.text;
    expect(draft.aiFinding).toMatchObject({ location: 'right hemisphere, central', where: 'series 1, image 1', notRecognised: 0 });
    // A disc of radius 8 pixels on 0.3125 mm pixels: about 5.3 mm across, both ways.
    expect(draft.aiFinding!.sizeMm!.longest).toBeGreaterThan(5);
    expect(draft.aiFinding!.sizeMm!.longest).toBeLessThan(5.8);
    expect(f).toMatch(/^AI classification: Glioma \(calibrated probability 91\.0%\)\.$/m);
    expect(f).toMatch(/^Location: right hemisphere, central; key slice series 1, image 1\.$/m);
    expect(f).toMatch(/^Size: 5\.\d x 5\.\d mm \(largest diameter and its perpendicular on that slice\); area [\d.]+ mm²\.$/m);
    expect(f).not.toMatch(/% across|pixel/);
    expect(draft.sections.impression.text).toMatch(/^Findings suggest glioma, right hemisphere, central, 5\.\d x 5\.\d mm\.$/);
  });

  it("states the change since the prior study from tracking, and the radiologist's measurements", () => {
    const f = draft.sections.findings.text;
    // One slice each: no volume, so the key-slice area is compared, and the draft says so.
    expect(f).toMatch(/^AI change since the prior study: Key-slice area [\d.]+ mm² → [\d.]+ mm² \(\+\d+%\) since 2023-03-10\.$/m);
    expect(f).toMatch(/^The change compares the key-slice area: a volume is not available for every study\.$/m);
    expect(f).toMatch(/^Radiologist measurements: Length 15\.6 mm \(series 1, image 1\)\.$/m);
  });
});

describe('the signed PDF', () => {
  it('carries the measurements and the tumor over time as at signing', async () => {
    const rad = fx.actors.radiologist;
    const accepted = fx.reports.acceptAi(draft.id, rad);
    const signed = await fx.reports.sign(draft.id, accepted.revision, rad, SIGN);
    // Measured after signing: not in the signed report's PDF.
    const inst = fx.db().prepare('SELECT i.id FROM instances i JOIN series s ON s.id = i.series_id WHERE s.study_id = ?').get(fx.studyId) as { id: string };
    await fx.measurements.save({ instanceId: inst.id, frame: 0, kind: 'angle', points: [[10, 10], [20, 10], [20, 30]], label: '' }, rad);
    const out = await fx.reports.exportPdf(signed.id, rad);
    const file = path.join(tmp, 'report.pdf');
    fs.writeFileSync(file, out.pdf);
    if (process.env.TP_PDF_OUT) fs.copyFileSync(file, process.env.TP_PDF_OUT);
    const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
    expect(text).toContain('Measurements (radiologist, on the images)');
    expect(text).toMatch(/Length 15\.6 mm - series 1, image 1/);
    expect(text).not.toMatch(/Angle 90\.0/);
    expect(text).toMatch(/Tumor over time \(AI, as at signing \d{4}-\d\d-\d\d\)/);
    expect(text).toMatch(/Since the prior study: Key-slice area [\d.]+ mm² -> [\d.]+ mm² \(\+\d+%\) since 2023-03-10/);
    expect(text).toMatch(/2023-03-10 · Glioma/);
    expect(text).toMatch(/2024-03-15 \(this study\) · Glioma/);
    expect(text).toContain('AI largest diameter (mm, right axis)');
    expect(text).toContain('No volume: the slice geometry does not allow one');
    expect(text).toContain('Not a medical device');
  });
});
