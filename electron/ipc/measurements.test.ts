// Measurements that last, through the real composition root and handler table on a real imported
// glioma series: figures computed from the points and the file's pixel spacing, kept across a
// restart, changed or deleted only by their author, refused for other roles, without a session,
// with bad payloads and for unknown images, and audited.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Measurement, StudyDetail } from '../contract';
import { resolveConfig } from '../services/config';
import { writeGliomaSeries } from '../../e2e/fixtures/glioma-series';
import { createWorkstation, type Workstation } from './compose';
import { createConnection, type Connection } from './handler-table';
import { channelCaller, TEST_RADIOLOGIST } from './test-calls';

let dir: string;
let ws: Workstation;
let admin: Connection;
let rad: Connection;
let rad2: Connection;
let researcher: Connection;
let studyId: string;
let instanceId: string;
const config = () => resolveConfig({ transport: 'cli', dataFolder: path.join(dir, 'data'), keySource: 'passphrase', passphrase: 'db passphrase for the measurements test' });

const { call, ok, signIn, adminAndRadiologist } = channelCaller(() => ws);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-measurements-'));
  ws = await createWorkstation(config());
  ({ admin, rad } = await adminAndRadiologist());
  await ok(admin, 'users.create', { username: 'rad2', displayName: 'Dr Second', role: 'radiologist', password: 'second-reader-pw-042' });
  await ok(admin, 'users.create', { username: 'res1', displayName: 'Researcher', role: 'researcher', password: 'research-pw-000042' });
  rad2 = await signIn('rad2', 'second-reader-pw-042');
  researcher = await signIn('res1', 'research-pw-000042');
  const report = await ws.services.dicom.importPaths(writeGliomaSeries(path.join(dir, 'in')), { actor: 'test' });
  studyId = report.studyIds[0]!;
  const detail = await ok<StudyDetail>(rad, 'studies.get', { studyId });
  instanceId = [...detail.series[0]!.instances].sort((a, b) => a.instanceNumber! - b.instanceNumber!)[4]!.instanceId;
}, 120_000);

afterAll(async () => {
  await ws?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('measurements', () => {
  let length: Measurement;

  it('stores each kind with its figure computed from the points and the 0.98 mm pixels', async () => {
    length = await ok<Measurement>(rad, 'measurements.save', { instanceId, kind: 'length', points: [[100, 100], [150, 100]] });
    expect(length).toMatchObject({ studyId, instanceId, frame: 0, kind: 'length', unit: 'mm', mine: true, createdByName: 'Dr Rad', where: 'series 1 (Derived axial T1 post-contrast (test fixture)), image 5' });
    expect(length.value).toBeCloseTo(50 * 0.98);
    expect(length.text).toBe('Length 49.0 mm');
    const ellipse = await ok<Measurement>(rad, 'measurements.save', { instanceId, kind: 'ellipse', points: [[90, 90], [130, 110]], label: 'Lesion A' });
    expect(ellipse.value).toBeCloseTo(Math.PI * 20 * 0.98 * 10 * 0.98);
    expect(ellipse.stats!.pixels).toBeGreaterThan(500);
    expect(ellipse.text).toMatch(/^Lesion A: Ellipse area \d+ mm² \(39\.2 x 19\.6 mm; mean [\d.]+, SD [\d.]+\)$/);
    const free = await ok<Measurement>(rad, 'measurements.save', { instanceId, kind: 'freehand', points: [[10, 10], [20, 10], [20, 20], [10, 20]] });
    expect(free.value).toBeCloseTo(100 * 0.98 * 0.98);
    const angle = await ok<Measurement>(rad, 'measurements.save', { instanceId, kind: 'angle', points: [[10, 10], [20, 10], [20, 30]] });
    expect(angle).toMatchObject({ unit: '°' });
    expect(angle.value).toBeCloseTo(90);
    const probe = await ok<Measurement>(rad, 'measurements.save', { instanceId, kind: 'probe', points: [[128.5, 128.5]] });
    // The probe reads the modality value at that pixel (the viewer's frame carries them as int16 here).
    const frame = await ws.services.dicom.getFrame(instanceId, 0);
    expect(frame.dataType).toBe('int16');
    expect(probe.value).toBe(Buffer.from(frame.data, 'base64').readInt16LE(2 * (128 * 256 + 128)));
    expect(probe.text).toBe(`Probe ${probe.value}`);
    const listed = await ok<{ measurements: Measurement[] }>(rad, 'measurements.list', { studyId });
    expect(listed.measurements.map((m) => m.kind)).toEqual(['length', 'ellipse', 'freehand', 'angle', 'probe']);
  });

  it('changes a measurement only for its author; others read it but may not change or delete it', async () => {
    const moved = await ok<Measurement>(rad, 'measurements.save', { id: length.id, instanceId, kind: 'length', points: [[100, 100], [100, 200]] });
    expect(moved.value).toBeCloseTo(98);
    const theirs = await ok<{ measurements: Measurement[] }>(rad2, 'measurements.list', { studyId });
    expect(theirs.measurements.find((m) => m.id === length.id)).toMatchObject({ mine: false, createdByName: 'Dr Rad' });
    const change = await call(rad2, 'measurements.save', { id: length.id, instanceId, kind: 'length', points: [[0, 0], [1, 1]] });
    expect(change).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    expect(change.message).toMatch(/Only Dr Rad/);
    expect(await call(rad2, 'measurements.delete', { id: length.id })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    // Nothing was lost or changed by the refusals.
    const still = (await ok<{ measurements: Measurement[] }>(rad, 'measurements.list', { studyId })).measurements.find((m) => m.id === length.id)!;
    expect(still.value).toBeCloseTo(98);
    // A measurement keeps its image and kind.
    expect(await call(rad, 'measurements.save', { id: length.id, instanceId, kind: 'angle', points: [[0, 0], [1, 0], [1, 1]] })).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
  });

  it('refuses other roles, no session, bad payloads and unknown objects with clear errors', async () => {
    for (const conn of [admin, researcher]) {
      expect(await call(conn, 'measurements.list', { studyId })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
      expect(await call(conn, 'measurements.save', { instanceId, kind: 'length', points: [[0, 0], [1, 1]] })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    }
    expect(await call(createConnection('host'), 'measurements.list', { studyId })).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
    const bad = [
      { instanceId, kind: 'length', points: [[0, 0]] },
      { instanceId, kind: 'probe', points: [[0, 0], [1, 1]] },
      { instanceId, kind: 'length', points: [[0, 0], ['1', 1]] },
      { instanceId, kind: 'length', points: [[0, 0], [null, 1]] },
      { instanceId, kind: 'ruler', points: [[0, 0], [1, 1]] },
      { instanceId, kind: 'length', points: [[0, 0], [1, 1]], label: 'x'.repeat(121) },
      { instanceId, kind: 'length', points: [[0, 0], [1, 1]], extra: true },
      { instanceId, kind: 'length', points: [[0, 0], [300, 1]] },
      { instanceId, kind: 'length', points: [[-1, 0], [3, 1]] },
      { instanceId, kind: 'length', points: [[5, 5], [5, 5]] },
      { instanceId, kind: 'angle', points: [[5, 5], [5, 5], [6, 6]] },
    ];
    for (const payload of bad) {
      const r = await call(rad, 'measurements.save', payload);
      expect(r, JSON.stringify(payload)).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
      expect(r.message).toMatch(/[a-z]/);
    }
    expect(await call(rad, 'measurements.save', { instanceId: 'no-such-image', kind: 'length', points: [[0, 0], [1, 1]] })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    expect(await call(rad, 'measurements.save', { instanceId, frame: 3, kind: 'length', points: [[0, 0], [1, 1]] })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    expect(await call(rad, 'measurements.save', { id: 'no-such-measurement', instanceId, kind: 'length', points: [[0, 0], [1, 1]] })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    expect(await call(rad, 'measurements.list', { studyId: 'no-such-study' })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    expect(await call(rad, 'measurements.delete', { id: 'no-such-measurement' })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    // None of the refusals stored anything.
    expect((await ok<{ measurements: Measurement[] }>(rad, 'measurements.list', { studyId })).measurements).toHaveLength(5);
  });

  it('keeps measurements across a restart, deletes its author\'s, and audits every change', async () => {
    await ws.close();
    ws = await createWorkstation(config());
    expect(ws.services.store.isOpen()).toBe(true);
    const again = await signIn(TEST_RADIOLOGIST.username, TEST_RADIOLOGIST.password);
    const after = (await ok<{ measurements: Measurement[] }>(again, 'measurements.list', { studyId })).measurements;
    expect(after).toHaveLength(5);
    expect(after.find((m) => m.id === length.id)).toMatchObject({ mine: true, points: [[100, 100], [100, 200]] });
    expect(await ok(again, 'measurements.delete', { id: length.id })).toEqual({ deleted: true });
    expect((await ok<{ measurements: Measurement[] }>(again, 'measurements.list', { studyId })).measurements).toHaveLength(4);
    const rows = ws.services.store.db().prepare("SELECT action, actor FROM audit_log WHERE object_type = 'measurement' ORDER BY id").all() as { action: string; actor: string }[];
    expect(rows.filter((r) => r.action === 'measurement.create')).toHaveLength(5);
    expect(rows.filter((r) => r.action === 'measurement.update')).toEqual([{ action: 'measurement.update', actor: 'rad1' }]);
    expect(rows.filter((r) => r.action === 'measurement.delete')).toEqual([{ action: 'measurement.delete', actor: 'rad1' }]);
  });
});
