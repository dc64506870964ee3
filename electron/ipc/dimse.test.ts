// DIMSE through the real composition root and the handler table: dcmtk's echoscu and storescu
// push to the workstation's C-STORE SCP (allowed callers only; a hostile file refused with the
// import path's reason; a transfer cut mid-association keeps what completed), and a real Orthanc
// is the PACS: C-ECHO, C-FIND by patient, C-MOVE into the worklist, with the AI run on the study.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DimseSettingsView, PacsRetrieveResult, PacsStudy, StudySummary } from '../contract';
import { resolveConfig } from '../services/config';
import { dcmtk, deeplyNestedCopy, startCutProxy } from '../testing/dimse';
import { freePort, startOrthanc, type OrthancServer } from '../testing/sync/orthanc';
import { makeMrStudy } from '../testing/sync/study-factory';
import { createWorkstation, type Workstation } from './compose';
import type { Connection } from './handler-table';
import { channelCaller } from './test-calls';

let dir: string;
let ws: Workstation;
let orthanc: OrthancServer;
let admin: Connection;
let rad: Connection;
let scpPort: number;
const AE = 'TPWORKSTATION';
const { ok, call, adminAndRadiologist } = channelCaller(() => ws);

const auditRows = (action: string): { outcome: string; detail: Record<string, unknown> }[] =>
  (ws.services.store.db().prepare('SELECT outcome, detail FROM audit_log WHERE action = ? ORDER BY id').all(action) as { outcome: string; detail: string }[]).map((r) => ({ outcome: r.outcome, detail: JSON.parse(r.detail) as Record<string, unknown> }));
const instancesOf = (studyUid: string): number =>
  (ws.services.store.db().prepare('SELECT count(*) AS n FROM instances i JOIN series se ON se.id = i.series_id JOIN studies st ON st.id = se.study_id WHERE st.study_instance_uid = ?').get(studyUid) as { n: number }).n;
const storescu = (callingAe: string, port: number, files: string[]) => dcmtk('storescu', ['-v', '-aet', callingAe, '-aec', AE, '127.0.0.1', String(port), ...files]);

beforeAll(async () => {
  scpPort = await freePort();
  orthanc = await startOrthanc({ modalities: { workstation: { aeTitle: AE, host: '127.0.0.1', port: scpPort } } });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-dimse-'));
  ws = await createWorkstation(resolveConfig({ transport: 'cli', dataFolder: path.join(dir, 'data'), keySource: 'passphrase', passphrase: 'dimse test passphrase' }));
  ({ admin, rad } = await adminAndRadiologist());
  await ws.services.dimse.start();
}, 180_000);

afterAll(async () => {
  await ws?.close();
  await orthanc?.dispose();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('DIMSE settings through the handler table', () => {
  it('off by default; admin only; an AE title that is not one is refused', async () => {
    const view = await ok<DimseSettingsView>(admin, 'dimse.getSettings', {});
    expect(view.settings).toMatchObject({ scpEnabled: false, aeTitle: 'TUMORPREDICT', allowedCallers: [], pacs: null });
    expect(view.status.listening).toBeNull();
    expect((await call(rad, 'dimse.setSettings', { scpEnabled: true })).code).toBe('FORBIDDEN');
    expect((await call(rad, 'dimse.echo', {})).code).toBe('FORBIDDEN');
    expect((await call(admin, 'pacs.find', {})).code).toBe('FORBIDDEN');
    expect((await call(admin, 'pacs.retrieve', { studyInstanceUid: '1.2.3' })).code).toBe('FORBIDDEN');
    expect((await call(admin, 'dimse.setSettings', { aeTitle: 'BAD\\AE' })).code).toBe('INVALID_INPUT');
    expect((await call(admin, 'dimse.setSettings', { aeTitle: 'A'.repeat(17) })).code).toBe('INVALID_INPUT');
    expect((await call(rad, 'pacs.retrieve', { studyInstanceUid: '1.2.3; DROP' })).code).toBe('INVALID_INPUT');
    expect((await call(rad, 'pacs.find', { patientName: 'A\\B' })).code).toBe('INVALID_INPUT');
  });

  it('enabled, it listens on the port and answers C-ECHO from an allowed caller only (others refused, audited)', async () => {
    const view = await ok<DimseSettingsView>(admin, 'dimse.setSettings', {
      scpEnabled: true,
      aeTitle: AE,
      port: scpPort,
      bindAddress: '127.0.0.1',
      allowedCallers: [{ aeTitle: 'TPSCANNER', host: '127.0.0.1' }, { aeTitle: 'ELSEWHERE', host: '10.9.9.9' }],
      pacs: { aeTitle: orthanc.aet, host: '127.0.0.1', port: orthanc.dicomPort },
    });
    expect(view.status.listening).toEqual({ aeTitle: AE, address: '127.0.0.1', port: scpPort });
    // A change of one field keeps the others.
    const one = await ok<DimseSettingsView>(admin, 'dimse.setSettings', { autoRunModel: false });
    expect(one.settings).toMatchObject({ scpEnabled: true, aeTitle: AE, port: scpPort, allowedCallers: [{ aeTitle: 'TPSCANNER' }, { aeTitle: 'ELSEWHERE' }] });
    expect((await dcmtk('echoscu', ['-aet', 'TPSCANNER', '-aec', AE, '127.0.0.1', String(scpPort)])).code).toBe(0);
    const intruder = await dcmtk('echoscu', ['-aet', 'INTRUDER', '-aec', AE, '127.0.0.1', String(scpPort)]);
    expect(intruder.code).not.toBe(0);
    expect(intruder.out).toMatch(/reject/i);
    // An allowed AE title from another address, and the wrong called AE, are refused too.
    expect((await dcmtk('echoscu', ['-aet', 'ELSEWHERE', '-aec', AE, '127.0.0.1', String(scpPort)])).code).not.toBe(0);
    expect((await dcmtk('echoscu', ['-aet', 'TPSCANNER', '-aec', 'SOMEONEELSE', '127.0.0.1', String(scpPort)])).code).not.toBe(0);
    const refused = auditRows('dimse.associate');
    expect(refused.map((r) => r.detail.callingAe)).toEqual(['INTRUDER', 'ELSEWHERE', 'TPSCANNER']);
    expect(refused.every((r) => r.outcome === 'refused')).toBe(true);
  }, 60_000);
});

describe('C-STORE SCP: a study pushed with storescu', () => {
  it('arrives in the worklist through the import path (audited by calling AE and counts); a second push is a duplicate', async () => {
    const study = makeMrStudy(path.join(dir, 'push'), 3);
    const r = await storescu('TPSCANNER', scpPort, study.files);
    expect(r.code, r.out).toBe(0);
    expect(instancesOf(study.studyInstanceUid)).toBe(3);
    const { rows } = await ok<{ rows: StudySummary[] }>(rad, 'studies.list', {});
    expect(rows.some((s) => s.studyInstanceUid === study.studyInstanceUid)).toBe(true);
    const again = await storescu('TPSCANNER', scpPort, study.files);
    expect(again.code, again.out).toBe(0);
    expect(instancesOf(study.studyInstanceUid)).toBe(3);
    const received = auditRows('dimse.receive').slice(-2);
    expect(received.map((x) => [x.detail.imported, x.detail.duplicate, x.detail.refused, x.detail.cut])).toEqual([[3, 0, 0, false], [0, 3, 0, false]]);
  }, 120_000);

  it('a hostile file (sequences nested past the limit) is refused with the import path\'s reason; the good ones beside it arrive', async () => {
    const study = makeMrStudy(path.join(dir, 'hostile'), 2);
    const bad = path.join(dir, 'hostile', 'nested.dcm');
    deeplyNestedCopy(study.files[0]!, bad);
    fs.rmSync(study.files[0]!);
    // dcmtk's storescu stops at the first failed store, so the good file goes in a second association.
    const r = await dcmtk('storescu', ['-d', '-aet', 'TPSCANNER', '-aec', AE, '127.0.0.1', String(scpPort), bad]);
    expect(r.out).toMatch(/DIMSE Status\s*: 0xc000: Error: Cannot understand/);
    // The C-STORE answer carries the import path's reason as its error comment.
    expect(r.out).toMatch(/\[refused: its sequences are nested more than 64 deep\].*ErrorComment/);
    expect(auditRows('dimse.receive').at(-1)!.detail).toMatchObject({ imported: 0, refused: 1 });
    expect(instancesOf(study.studyInstanceUid)).toBe(0);
    const good = await storescu('TPSCANNER', scpPort, [study.files[1]!]);
    expect(good.code, good.out).toBe(0);
    expect(instancesOf(study.studyInstanceUid)).toBe(1);
    // The SCP is still up.
    expect((await dcmtk('echoscu', ['-aet', 'TPSCANNER', '-aec', AE, '127.0.0.1', String(scpPort)])).code).toBe(0);
  }, 120_000);

  it('a transfer cut mid-association keeps the instances that completed, drops the partial one, and the SCP takes the study again', async () => {
    const study = makeMrStudy(path.join(dir, 'cut'), 4);
    const size = fs.statSync(study.files[0]!).size;
    // Association set-up (~1 KiB) plus two whole instances, then half of the third.
    const proxy = await startCutProxy(scpPort, 2048 + Math.floor(size * 2.5));
    const r = await storescu('TPSCANNER', proxy.port, study.files);
    await proxy.close();
    expect(r.code).not.toBe(0);
    await expect.poll(() => auditRows('dimse.receive').at(-1)?.detail.cut, { timeout: 30_000 }).toBe(true);
    const cut = auditRows('dimse.receive').at(-1)!;
    expect(cut.detail.imported).toBeGreaterThanOrEqual(1);
    expect(cut.detail.imported).toBeLessThan(4);
    expect(instancesOf(study.studyInstanceUid)).toBe(cut.detail.imported);
    const again = await storescu('TPSCANNER', scpPort, study.files);
    expect(again.code, again.out).toBe(0);
    expect(instancesOf(study.studyInstanceUid)).toBe(4);
  }, 120_000);
});

describe('the PACS (a real Orthanc) as SCU: C-ECHO, C-FIND, C-MOVE', () => {
  it('echo: the PACS answers; a PACS that is not there is a sentence, not a hang', async () => {
    expect(await ok(admin, 'dimse.echo', {})).toMatchObject({ ok: true });
    await ok(admin, 'dimse.setSettings', { pacs: { aeTitle: orthanc.aet, host: '127.0.0.1', port: await freePort() } });
    const down = await ok<{ ok: boolean; message: string }>(admin, 'dimse.echo', {});
    expect(down.ok).toBe(false);
    expect(down.message).toMatch(/cannot be reached/);
    await ok(admin, 'dimse.setSettings', { pacs: { aeTitle: orthanc.aet, host: '127.0.0.1', port: orthanc.dicomPort } });
  }, 60_000);

  it('a study found by C-FIND (patient ID) is retrieved by C-MOVE into the worklist, with the AI run on it', async () => {
    const study = makeMrStudy(path.join(dir, 'pacs'), 3);
    await orthanc.dcmsend(study.files);
    const all = await ok<{ studies: PacsStudy[] }>(rad, 'pacs.find', { modality: 'MR' });
    const found = all.studies.find((s) => s.studyInstanceUid === study.studyInstanceUid)!;
    expect(found).toBeDefined();
    expect(found.local).toBe(false);
    expect(found.instances).toBe(3);
    const byId = await ok<{ studies: PacsStudy[] }>(rad, 'pacs.find', { patientId: found.patientId });
    expect(byId.studies.map((s) => s.studyInstanceUid)).toContain(study.studyInstanceUid);
    const none = await ok<{ studies: PacsStudy[] }>(rad, 'pacs.find', { patientId: 'NO-SUCH-PATIENT-42' });
    expect(none.studies).toEqual([]);

    const got = await ok<PacsRetrieveResult>(rad, 'pacs.retrieve', { studyInstanceUid: study.studyInstanceUid });
    expect(got).toMatchObject({ completed: 3, failed: 0 });
    expect(got.studyId).not.toBeNull();
    expect(got.ai.state, got.ai.message ?? '').toBe('done');
    expect(instancesOf(study.studyInstanceUid)).toBe(3);
    const ai = await ok<{ status: string; finding: unknown }>(rad, 'ai.studyResult', { studyId: got.studyId });
    expect(ai.status).toBe('done');
    expect(ai.finding).not.toBeNull();
    const again = await ok<{ studies: PacsStudy[] }>(rad, 'pacs.find', { patientId: found.patientId });
    expect(again.studies.find((s) => s.studyInstanceUid === study.studyInstanceUid)!.local).toBe(true);
    const rows = auditRows('pacs.retrieve');
    expect(rows.at(-1)).toMatchObject({ outcome: 'success', detail: { completed: 3, ai: 'done' } });
    // The audit row names no patient: the query text is not kept.
    expect(JSON.stringify(auditRows('pacs.find'))).not.toContain(found.patientId);
  }, 240_000);

  it('a retrieve with the SCP off says why instead of waiting', async () => {
    await ok(admin, 'dimse.setSettings', { scpEnabled: false });
    const r = await call(rad, 'pacs.retrieve', { studyInstanceUid: '1.2.3.4' });
    expect(r.code).toBe('UNAVAILABLE');
    expect(r.message).toMatch(/not listening/);
    await ok(admin, 'dimse.setSettings', { scpEnabled: true });
  });
});
