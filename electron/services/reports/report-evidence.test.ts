// The report states what the model card claims for a new site and warns when the series' sequence is
// outside what the model was validated on: in the draft's finding (kept with the report) and in the
// signed PDF (read back with poppler). The claims come from a card reader the test controls.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelClaims, Report } from '../../contract';
import { createReportsFixture, SIGN, type ReportsFixture } from '../../testing/reports';

const CLAIMS: ModelClaims = {
  headline: { figure: 'leave-one-source-out', accuracy: 0.812, n: 2431 },
  validatedSequences: ['t1ce', 'flair'],
};

let fx: ReportsFixture;
let draft: Report;
const asked: string[] = [];

beforeAll(async () => {
  fx = await createReportsFixture({
    modelClaims: (id) => {
      asked.push(id);
      return CLAIMS;
    },
  });
  draft = fx.reports.open(fx.studyId, fx.actors.radiologist);
});
afterAll(async () => {
  await fx?.close();
  if (fx) fs.rmSync(fx.dir, { recursive: true, force: true });
});

describe('the AI finding of a report carries the card evidence', () => {
  it('asks the card of the model that made the result, and keeps the headline and validated sequences', () => {
    const f = draft.aiFinding!;
    expect(asked).toContain(f.modelId);
    expect(f.evidence).toMatchObject({ headline: { figure: 'leave-one-source-out', accuracy: 0.812, n: 2431 }, validatedSequences: ['t1ce', 'flair'] });
  });

  it('states the series sequence from the index and warns because it is not one the model was validated on', () => {
    const ev = draft.aiFinding!.evidence!;
    const series = fx.db().prepare('SELECT description FROM series WHERE id = ?').get(draft.aiFinding!.seriesId) as { description: string | null };
    expect(ev.sequence, `series "${series.description ?? ''}"`).not.toBeNull();
    expect(['t1ce', 'flair']).not.toContain(ev.sequence!.code);
    expect(ev.warning).toMatch(/validated on T1 post-contrast and FLAIR only/);
  });

  it('the signed PDF prints the figure for a new site, the validated sequences and the warning', async () => {
    const rad = fx.actors.radiologist;
    const accepted = fx.reports.acceptAi(draft.id, rad);
    const signed = await fx.reports.sign(draft.id, accepted.revision, rad, SIGN);
    const out = await fx.reports.exportPdf(signed.id, rad);
    const file = path.join(fx.dir, 'evidence.pdf');
    fs.writeFileSync(file, out.pdf);
    const text = execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
    expect(text).toContain('Expected accuracy on a new site: 81.2% (leave-one-source-out, n = 2,431)');
    expect(text).toContain('Validated on T1 post-contrast and FLAIR only.');
    expect(text).toMatch(/Sequence warning: (This series looks like|The header of this series does not say)/);
  });
});

describe('findings stored before the evidence was kept', () => {
  it('a report without evidence prints as before (no headline, no warning)', async () => {
    const plain = await createReportsFixture();
    try {
      const d = plain.reports.open(plain.studyId, plain.actors.radiologist);
      expect(d.aiFinding?.evidence ?? null).toBeNull();
    } finally {
      await plain.close();
      fs.rmSync(plain.dir, { recursive: true, force: true });
    }
  });
});
