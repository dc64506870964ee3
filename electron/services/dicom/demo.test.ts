// The bundled demo study imports into an empty workstation once, as derived images of made-up
// patients: one slice per class and a multi-slice series.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { defaultDemoFolder } from './demo';
import { createDicomService, type DicomService } from './service';
import { openTestStore } from '../../testing/dicom';

let env: Awaited<ReturnType<typeof openTestStore>>;
let dicom: DicomService;
beforeAll(async () => {
  env = await openTestStore();
  dicom = createDicomService({ db: () => env.store.db(), dataFolder: env.dir, audit: env.audit, workers: 2 });
});
afterAll(async () => { await dicom?.close(); env?.cleanup(); });

it('imports the demo study only when allowed and the worklist is empty', async () => {
  expect(await dicom.importDemoStudyIfEmpty({ allowed: false, folder: defaultDemoFolder(), actor: 'system:demo' })).toBeNull();
  const r = await dicom.importDemoStudyIfEmpty({ allowed: true, folder: defaultDemoFolder(), actor: 'system:demo' });
  expect(r, 'build/demo/study is missing: run node --import tsx build/demo/make-demo-study.ts').not.toBeNull();
  expect(r!.refused).toBe(0);
  expect(r!.imported).toBeGreaterThanOrEqual(5);
  const list = dicom.listStudies({ sort: 'patientName', direction: 'asc', limit: 50, offset: 0 });
  const names = list.rows.map((s) => s.patientName);
  for (const n of ['DEMO, GLIOMA', 'DEMO, MENINGIOMA', 'DEMO, PITUITARY', 'DEMO, NOTUMOR', 'DEMO, VOLUME']) expect(names).toContain(n);
  expect(list.rows.every((s) => s.derived)).toBe(true);
  const volume = list.rows.find((s) => s.patientName === 'DEMO, VOLUME')!;
  expect(volume.instanceCount).toBeGreaterThan(10);
  const detail = dicom.getStudy(volume.studyId, { actor: 'test', actorId: null });
  const frame = await dicom.getFrame(detail.series[0]!.instances[12]!.instanceId, 0);
  expect(frame.max).toBeGreaterThan(frame.min);
  expect(frame.pixelSpacing).not.toBeNull();
  expect(await dicom.importDemoStudyIfEmpty({ allowed: true, folder: defaultDemoFolder(), actor: 'system:demo' })).toBeNull();
});
