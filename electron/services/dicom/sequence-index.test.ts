// The index keeps the MR acquisition fields of a series and tells its sequence from them: a real
// MR file, made into a T2 and a T1 post-contrast series with dcmtk's dcmodify.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDicomService, type DicomService } from './service';
import { openTestStore } from '../../testing/dicom';

const MR = '/usr/lib/python3/dist-packages/pydicom/data/test_files/MR_small.dcm';
let env: Awaited<ReturnType<typeof openTestStore>>;
let dicom: DicomService;
let work: string;

function variant(name: string, tags: string[]): string {
  const file = path.join(work, name);
  fs.copyFileSync(MR, file);
  execFileSync('dcmodify', ['-nb', '-gse', '-gin', '-gst', ...tags.flatMap((t) => ['-i', t]), file]);
  return file;
}

beforeAll(async () => {
  env = await openTestStore('tp-seq-');
  dicom = createDicomService({ db: () => env.store.db(), dataFolder: env.dir, audit: env.audit, workers: 1 });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-seq-in-'));
});
afterAll(async () => {
  await dicom?.close();
  env?.cleanup();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('MR sequence of a series in the index', () => {
  it('is read from Series Description, TR/TE and Contrast/Bolus Agent on import', async () => {
    const t2 = variant('t2.dcm', ['(0008,103e)=AX BRAIN 5MM', '(0018,0080)=4500', '(0018,0081)=102']);
    const post = variant('post.dcm', ['(0008,103e)=Ax T1 SE', '(0018,0010)=Gadovist']);
    const r = await dicom.importPaths([t2, post], { actor: 'test' });
    expect(r.refused).toBe(0);
    const studies = dicom.listStudies({ sort: 'studyDate', direction: 'desc', limit: 10, offset: 0 }).rows;
    const series = studies.flatMap((s) => dicom.index.get(s.studyId).series);
    const byDesc = Object.fromEntries(series.map((s) => [s.description, s.sequence]));
    expect(byDesc['AX BRAIN 5MM']).toEqual({ code: 't2', name: 'T2', basis: 'TR 4500 ms, TE 102 ms' });
    expect(byDesc['Ax T1 SE']).toMatchObject({ code: 't1ce', name: 'T1 post-contrast' });
    expect(byDesc['Ax T1 SE']!.basis).toContain('Gadovist');
  });
});
