// The model an admin activates in the registry is the one clinical AI runs use, from the next run
// on, without a restart: through the real composition root, handler table, registry and model.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AiStudyResult } from '../contract';
import { resolveConfig } from '../services/config';
import { makeUncalibratedVariant, shippedModelDir } from '../testing/research';
import { writeGliomaSeries } from '../../e2e/fixtures/glioma-series';
import { createWorkstation, type Workstation } from './compose';
import type { Connection } from './handler-table';
import { channelCaller } from './test-calls';

let dir: string;
let ws: Workstation;
let admin: Connection;
let rad: Connection;
let studyId: string;
let variantSrc: string;

const { call, adminAndRadiologist } = channelCaller(() => ws);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-clinical-model-'));
  // A models folder of the test's own, holding the shipped model; the variant is installed later.
  const modelsFolder = path.join(dir, 'models');
  fs.cpSync(shippedModelDir(), path.join(modelsFolder, 'tumornet'), { recursive: true });
  variantSrc = makeUncalibratedVariant(path.join(dir, 'src'));
  ws = await createWorkstation(resolveConfig({ transport: 'cli', dataFolder: path.join(dir, 'data'), modelsFolder, keySource: 'passphrase', passphrase: 'db passphrase for the clinical model test' }));
  ({ admin, rad } = await adminAndRadiologist());
  const report = await ws.services.dicom.importPaths(writeGliomaSeries(path.join(dir, 'in')), { actor: 'test' });
  studyId = report.studyIds[0]!;
}, 120_000);

afterAll(async () => {
  await ws?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the clinical model follows the registry', () => {
  it('scores with the default model until an admin activates another, then with that one', async () => {
    const first = await call(rad, 'ai.runStudy', { studyId });
    expect(first.ok, first.message).toBe(true);
    expect((first.result as AiStudyResult).model).toMatchObject({ id: 'tumornet' });

    expect(await call(admin, 'models.install', { path: variantSrc })).toMatchObject({ ok: true, result: { id: 'tumornet-t1', status: 'research' } });
    // Installing alone changes nothing for clinical runs.
    const again = await call(rad, 'ai.runStudy', { studyId, force: true });
    expect((again.result as AiStudyResult).model).toMatchObject({ id: 'tumornet' });

    // A radiologist may not switch the clinical model; an admin may.
    expect(await call(rad, 'models.activate', { id: 'tumornet-t1' })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    expect(await call(admin, 'models.activate', { id: 'tumornet-t1' })).toMatchObject({ ok: true, result: { id: 'tumornet-t1', status: 'active' } });

    const after = await call(rad, 'ai.runStudy', { studyId, force: true });
    expect(after.ok, after.message).toBe(true);
    const r = after.result as AiStudyResult;
    expect(r.model).toMatchObject({ id: 'tumornet-t1' });
    expect(r.model!.version).toMatch(/-t1$/);
    // The variant differs only in its temperature (1 instead of the card's), so its confidences
    // differ: the stored result really came from the other model.
    const conf = (x: AiStudyResult): number => x.instances.reduce((sum, i) => sum + i.confidence, 0);
    expect(conf(r)).not.toBeCloseTo(conf(first.result as AiStudyResult), 4);
  }, 120_000);
});
