// The inference runtime as an admin setting, through the real composition root, handler table,
// store and model: it switches the runtime of the next AI run without a restart, refuses a
// runtime that does not load here with the detection's reason, is admin-only, survives a restart,
// and a runtime forced at start (--runtime / TUMORPREDICT_RUNTIME) wins over it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AiStudyResult, Settings, SystemInfo } from '../contract';
import { resolveConfig, type WorkstationConfig } from '../services/config';
import { writeGliomaSeries } from '../../e2e/fixtures/glioma-series';
import { createWorkstation, type Workstation } from './compose';
import { createConnection, type Connection } from './handler-table';
import { channelCaller } from './test-calls';

let dir: string;
let ws: Workstation;
let admin: Connection;
let rad: Connection;
let studyId: string;

const { call, adminAndRadiologist } = channelCaller(() => ws);

const config = (extra: Partial<WorkstationConfig> = {}): WorkstationConfig =>
  resolveConfig({ transport: 'cli', dataFolder: path.join(dir, 'data'), keySource: 'passphrase', passphrase: 'db passphrase for the runtime setting test', ...extra });

/** Opens the workstation on the test's data folder and signs both users in. */
async function open(extra: Partial<WorkstationConfig> = {}): Promise<void> {
  ws = await createWorkstation(config(extra));
  admin = createConnection('host');
  rad = createConnection('host');
  expect(await call(admin, 'auth.login', { username: 'admin1', password: 'admin-password-0042' })).toMatchObject({ ok: true });
  expect(await call(rad, 'auth.login', { username: 'rad1', password: 'rad-password-00042' })).toMatchObject({ ok: true });
}

async function info(): Promise<SystemInfo> {
  const r = await call(admin, 'system.info', {});
  expect(r.ok, r.message).toBe(true);
  return r.result as SystemInfo;
}

/** Runs the model on the study again and returns the runtime stored with the result. */
async function runtimeOfNextRun(): Promise<string | undefined> {
  const r = await call(rad, 'ai.runStudy', { studyId, force: true });
  expect(r.ok, r.message).toBe(true);
  const result = r.result as AiStudyResult;
  expect(result.status).toBe('done');
  return result.model?.runtime;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-runtime-setting-'));
  ws = await createWorkstation(config());
  ({ admin, rad } = await adminAndRadiologist());
  const report = await ws.services.dicom.importPaths(writeGliomaSeries(path.join(dir, 'in')), { actor: 'test' });
  studyId = report.studyIds[0]!;
}, 120_000);

afterAll(async () => {
  await ws?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the inference runtime setting', () => {
  let fastest: string;

  it('starts on automatic: the fastest available runtime', async () => {
    expect(((await call(admin, 'settings.get', {})).result as Settings).inferenceRuntime).toBe('auto');
    const i = await info();
    fastest = i.runtimes.find((r) => r.available)!.name;
    // The switch below must be observable: the fastest runtime here is not the wasm floor.
    expect(fastest).not.toBe('tfjs-wasm');
    expect(i.activeRuntime).toBe(fastest);
    expect(i.runtimeChoice).toEqual({ wanted: 'auto', source: 'default', setting: 'auto' });
  });

  it('an admin picks tfjs-wasm and the next AI run uses it, without a restart; back to auto gives the fastest again', async () => {
    const set = await call(admin, 'settings.update', { inferenceRuntime: 'tfjs-wasm' });
    expect(set.ok, set.message).toBe(true);
    expect((set.result as Settings).inferenceRuntime).toBe('tfjs-wasm');
    expect(await info()).toMatchObject({ activeRuntime: 'tfjs-wasm', runtimeChoice: { wanted: 'tfjs-wasm', source: 'setting' } });
    expect((await call(rad, 'inference.status', {})).result).toMatchObject({ activeRuntime: 'tfjs-wasm' });
    expect(await runtimeOfNextRun()).toBe('tfjs-wasm');
    // The stored per-image rows carry it too.
    const rows = ws.services.store.db().prepare('SELECT DISTINCT runtime FROM ai_instance_results WHERE study_id = ?').all(studyId) as { runtime: string }[];
    expect(rows).toEqual([{ runtime: 'tfjs-wasm' }]);
    // The change is an audit row naming the key.
    const audit = ws.services.store.db().prepare("SELECT actor, detail FROM audit_log WHERE action = 'settings.update' ORDER BY id DESC LIMIT 1").get() as { actor: string; detail: string };
    expect(audit.actor).toBe('admin1');
    expect(audit.detail).toContain('inferenceRuntime');

    expect(await call(admin, 'settings.update', { inferenceRuntime: 'auto' })).toMatchObject({ ok: true, result: { inferenceRuntime: 'auto' } });
    expect(await runtimeOfNextRun()).toBe(fastest);
    expect(fastest).toBe('onnxruntime-node');
  }, 120_000);

  it('refuses a runtime that does not load here, with the reason, and stores nothing', async () => {
    const tfjsNode = (await info()).runtimes.find((r) => r.name === 'tfjs-node')!;
    expect(tfjsNode.available).toBe(false);
    const r = await call(admin, 'settings.update', { inferenceRuntime: 'tfjs-node', sessionIdleMinutes: 20 });
    expect(r).toMatchObject({ ok: false, code: 'UNAVAILABLE' });
    expect(r.message).toContain('The runtime tfjs-node is not available on this machine');
    expect(r.message).toContain(tfjsNode.reason!);
    expect(((await call(admin, 'settings.get', {})).result as Settings)).toMatchObject({ inferenceRuntime: 'auto', sessionIdleMinutes: 15 });
    expect((await info()).activeRuntime).toBe(fastest);
    // A name that is no runtime at all fails the schema.
    expect(await call(admin, 'settings.update', { inferenceRuntime: 'cuda-magic' })).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
  });

  it('a radiologist cannot change it (or read the settings)', async () => {
    expect(await call(rad, 'settings.update', { inferenceRuntime: 'tfjs-wasm' })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    expect(await call(rad, 'settings.get', {})).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    expect((await info()).activeRuntime).toBe(fastest);
  });

  it('survives a restart of the workstation', async () => {
    expect(await call(admin, 'settings.update', { inferenceRuntime: 'tfjs-wasm' })).toMatchObject({ ok: true });
    await ws.close();
    await open();
    expect(await info()).toMatchObject({ activeRuntime: 'tfjs-wasm', runtimeChoice: { wanted: 'tfjs-wasm', source: 'setting', setting: 'tfjs-wasm' } });
    expect(await runtimeOfNextRun()).toBe('tfjs-wasm');
  }, 120_000);

  it('a runtime forced at start wins over the stored setting, and system.info says by what', async () => {
    await ws.close();
    await open({ runtime: 'onnxruntime-node' });
    const i = await info();
    expect(i).toMatchObject({ activeRuntime: 'onnxruntime-node', runtimeChoice: { wanted: 'onnxruntime-node', source: 'flag', setting: 'tfjs-wasm' } });
    expect(await runtimeOfNextRun()).toBe('onnxruntime-node');
    // Changing the setting meanwhile is stored (it applies once started without the flag) but
    // does not move the forced runtime.
    expect(await call(admin, 'settings.update', { inferenceRuntime: 'auto' })).toMatchObject({ ok: true, result: { inferenceRuntime: 'auto' } });
    expect(await info()).toMatchObject({ activeRuntime: 'onnxruntime-node', runtimeChoice: { source: 'flag', setting: 'auto' } });
  }, 120_000);

  it('a stored runtime that no longer loads here falls back to the fastest, says why, and does not block saving', async () => {
    // As if stored while tfjs-node still loaded (straight through the service, past the check).
    ws.services.settings.update({ inferenceRuntime: 'tfjs-node' }, 'test');
    await ws.close();
    await open();
    const i = await info();
    expect(i).toMatchObject({ activeRuntime: fastest, runtimeChoice: { wanted: 'tfjs-node', source: 'setting' } });
    expect(i.runtimeChoice.problem).toMatch(/^The runtime tfjs-node is not available on this machine: .*The fastest available runtime is used instead\.$/s);
    // The page saves every field: the unchanged runtime is not checked again.
    const all = (await call(admin, 'settings.get', {})).result as Settings;
    expect(await call(admin, 'settings.update', { ...all, sessionIdleMinutes: 25 })).toMatchObject({ ok: true, result: { sessionIdleMinutes: 25, inferenceRuntime: 'tfjs-node' } });
    expect(await runtimeOfNextRun()).toBe(fastest);
  }, 120_000);

  it('the environment variable counts as forced too', () => {
    const before = process.env.TUMORPREDICT_RUNTIME;
    process.env.TUMORPREDICT_RUNTIME = 'tfjs-wasm';
    try {
      expect(config()).toMatchObject({ runtime: 'tfjs-wasm', runtimeFrom: 'env' });
      expect(config({ runtime: 'onnxruntime-node' })).toMatchObject({ runtime: 'onnxruntime-node', runtimeFrom: 'flag' });
    } finally {
      if (before === undefined) delete process.env.TUMORPREDICT_RUNTIME;
      else process.env.TUMORPREDICT_RUNTIME = before;
    }
    expect(config()).not.toHaveProperty('runtimeFrom');
  });
});
