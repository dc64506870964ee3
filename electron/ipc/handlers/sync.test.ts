// The sync API through the real composition root, handler table and a real Orthanc: an admin
// configures the server, a study sent to Orthanc with dcmsend appears in the radiologist's
// worklist with no manual step (the scheduler pulls it), the outbox drains by itself, and the
// roles are held to the permission matrix.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../services/config';
import { buildMinimalSr, sourceOf } from '../../testing/sync/fixtures';
import { startOrthanc, type OrthancServer } from '../../testing/sync/orthanc';
import { makeMrStudy } from '../../testing/sync/study-factory';
import { createWorkstation, type Workstation } from '../compose';
import { createConnection, type Connection } from '../handler-table';
import { channelCaller } from '../test-calls';

let orthanc: OrthancServer;
let dir: string;
let ws: Workstation;
let admin: Connection;
let radiologist: Connection;

const { call } = channelCaller(() => ws);

async function waitFor(what: string, cond: () => Promise<boolean> | boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  orthanc = await startOrthanc();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-sync-api-'));
  ws = await createWorkstation(resolveConfig({ transport: 'host', dataFolder: dir, keySource: 'passphrase', passphrase: 'sync api test passphrase' }));
  admin = createConnection('host');
  expect(await call(admin, 'auth.createFirstAdmin', { username: 'admin1', displayName: 'Admin', password: 'admin-password-123' })).toMatchObject({ ok: true });
  expect(await call(admin, 'users.create', { username: 'rad1', displayName: 'Rad', role: 'radiologist', password: 'rad-password-1234' })).toMatchObject({ ok: true });
  radiologist = createConnection('host');
  expect(await call(radiologist, 'auth.login', { username: 'rad1', password: 'rad-password-1234' })).toMatchObject({ ok: true });
}, 120_000);

afterAll(async () => {
  await ws?.close();
  await orthanc?.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('sync through the API', () => {
  it('admin configures the server; the secret is write-only', async () => {
    const set = await call(admin, 'sync.setSettings', { baseUrl: orthanc.dicomWebUrl, authType: 'basic', username: orthanc.username, secret: orthanc.password, pollIntervalSeconds: 10, enabled: true, allowInsecureHttp: true });
    // Passphrase mode: the secret is kept encrypted in the database, whether or not a keychain answers.
    expect(set).toMatchObject({ ok: true, result: { hasSecret: true, enabled: true, secretStore: 'database' } });
    expect(JSON.stringify(set.result)).not.toContain(orthanc.password);
    expect(await call(admin, 'sync.testConnection', {})).toMatchObject({ ok: true, result: { ok: true, step: 'ok' } });
    const wrong = await call(admin, 'sync.testConnection', { secret: 'nope' });
    expect(wrong).toMatchObject({ ok: true, result: { ok: false, step: 'auth', httpStatus: 401 } });
  });

  it('a study sent to Orthanc appears in the worklist without a manual step', async () => {
    const study = makeMrStudy(path.join(dir, 'modality'), 2);
    await orthanc.dcmsend(study.files);
    await waitFor('the study in the worklist', async () => {
      const r = await call(radiologist, 'studies.list', {});
      return r.ok && (r.result as { rows: { studyInstanceUid: string }[] }).rows.some((s) => s.studyInstanceUid === study.studyInstanceUid);
    }, 45_000);
    // The study shows as soon as it is imported; the run that brought it finishes just after.
    let status: Awaited<ReturnType<typeof call>> = { ok: false };
    await waitFor('the run to finish', async () => {
      status = await call(radiologist, 'sync.status', {});
      return status.ok && !(status.result as { running: boolean }).running;
    }, 20_000);
    expect(status).toMatchObject({ ok: true, result: { configured: true, enabled: true, lastError: null } });
    expect((status.result as { lastSuccessAt: string | null }).lastSuccessAt).not.toBeNull();
    const runs = ws.services.store.db().prepare(`SELECT actor, outcome FROM audit_log WHERE action = 'sync.run'`).all() as { actor: string; outcome: string }[];
    expect(runs.some((r) => r.actor === 'system:sync' && r.outcome === 'success')).toBe(true);
  });

  it('a result queued in the outbox reaches Orthanc by itself; the radiologist sees it, only the admin may retry or cancel', async () => {
    const src = sourceOf(fs.readFileSync(makeMrStudy(path.join(dir, 'src'), 1).files[0]!));
    const sr = buildMinimalSr(src.study, { className: 'glioma', probability: 0.9 });
    // As the reports service does: inside its own transaction.
    const db = ws.services.store.db();
    const item = db.transaction(() => ws.services.sync.enqueue({ kind: 'sr', content: sr.bytes, label: 'Report SR' }))();
    await waitFor('the SR on Orthanc', async () => {
      const r = await orthanc.rest<string[]>('GET', `/instances?expand=false`);
      const found = await orthanc.rest<{ ID: string }[]>('POST', '/tools/find', JSON.stringify({ Level: 'Instance', Query: { SOPInstanceUID: sr.sopInstanceUid } }));
      return r.status === 200 && Array.isArray(found.body) && found.body.length === 1;
    }, 30_000);
    await waitFor('the item marked sent', async () => ws.services.sync.outbox.get(item.id).state === 'sent', 10_000);
    const list = await call(radiologist, 'outbox.list', {});
    expect(list.ok).toBe(true);
    expect((list.result as { items: { id: number; state: string }[] }).items.find((i) => i.id === item.id)).toMatchObject({ state: 'sent' });
    expect(await call(radiologist, 'outbox.retry', { id: item.id })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    expect(await call(radiologist, 'sync.setSettings', { enabled: false })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    expect(await call(admin, 'outbox.cancel', { id: item.id })).toMatchObject({ ok: false, code: 'CONFLICT' });
    expect(await call(admin, 'outbox.retry', { id: 999_999 })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
  });

  it('the workstation closed with results in the outbox (server down) sends them after it starts again', async () => {
    await orthanc.stop();
    const src = sourceOf(fs.readFileSync(makeMrStudy(path.join(dir, 'src2'), 1).files[0]!));
    const srs = [0, 1].map((i) => buildMinimalSr(src.study, { className: `restart-${i}`, probability: 0.3 }));
    const ids = srs.map((sr) => ws.services.sync.enqueue({ kind: 'sr', content: sr.bytes, label: 'Report SR' }).id);
    await waitFor('a failed attempt', () => ws.services.sync.outbox.get(ids[0]!).attempts > 0 && ws.services.sync.outbox.get(ids[0]!).state === 'queued', 20_000);
    expect(ws.services.sync.outbox.get(ids[0]!).lastError).toMatch(/Nothing answers|cut in the middle/);
    await ws.close();
    await orthanc.restart();
    ws = await createWorkstation(resolveConfig({ transport: 'host', dataFolder: dir, keySource: 'passphrase', passphrase: 'sync api test passphrase' }));
    await waitFor('the outbox to drain after start', () => ids.every((id) => ws.services.sync.outbox.get(id).state === 'sent'), 30_000);
    for (const sr of srs) {
      const found = await orthanc.rest<unknown[]>('POST', '/tools/find', JSON.stringify({ Level: 'Instance', Query: { SOPInstanceUID: sr.sopInstanceUid } }));
      expect(found.body).toHaveLength(1);
    }
    // A new workstation: sign in again for the next test.
    expect(await call(radiologist, 'auth.login', { username: 'rad1', password: 'rad-password-1234' })).toMatchObject({ ok: true });
  });

  it('sync now from the radiologist runs and is audited under their name', async () => {
    const r = await call(radiologist, 'sync.now', {});
    expect(r).toMatchObject({ ok: true, result: { ok: true } });
    const rows = ws.services.store.db().prepare(`SELECT actor FROM audit_log WHERE action = 'sync.run' AND actor = 'rad1'`).all();
    expect(rows.length).toBe(1);
  });
});
