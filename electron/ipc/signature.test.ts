// The electronic signature through the handler table (the one path of the Electron IPC and the
// headless host): signing and addenda ask for the signer's own password again (and the TOTP code
// when enrolled), a wrong one refuses, signs nothing and counts toward the account's lockout, and
// the audit row of a signature records its meaning, the printed name and how identity was shown.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNATURE_MEANINGS, type Report, type StudySummary } from '../contract';
import { totpCode } from '../services/auth';
import { resolveConfig } from '../services/config';
import { defaultDemoFolder } from '../services/dicom';
import { createWorkstation, type Workstation } from './compose';
import { createConnection, type Connection } from './handler-table';
import { channelCaller, TEST_RADIOLOGIST } from './test-calls';

let dir: string;
let ws: Workstation;
let admin: Connection;
let rad: Connection;
const { call, ok, signIn, adminAndRadiologist } = channelCaller(() => ws);

const auditRows = (action: string, objectId?: string): { outcome: string; actor: string; detail: Record<string, unknown> | null }[] =>
  (ws.services.store.db().prepare(`SELECT outcome, actor, detail FROM audit_log WHERE action = ? ${objectId ? 'AND object_id = ?' : ''} ORDER BY id`).all(...(objectId ? [action, objectId] : [action])) as { outcome: string; actor: string; detail: string | null }[]).map((r) => ({
    ...r,
    detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null,
  }));

/** A draft of one demo case with the AI finding accepted, ready to sign. */
async function readyToSign(conn: Connection, patientId: string): Promise<Report> {
  const { rows } = await ok<{ rows: StudySummary[] }>(conn, 'studies.list', { search: patientId });
  await ok(conn, 'ai.runStudy', { studyId: rows[0]!.studyId });
  const draft = await ok<Report>(conn, 'reports.open', { studyId: rows[0]!.studyId });
  return ok<Report>(conn, 'reports.acceptAi', { reportId: draft.id });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-signature-'));
  ws = await createWorkstation(resolveConfig({ transport: 'cli', dataFolder: path.join(dir, 'data'), keySource: 'passphrase', passphrase: 'db passphrase for the signature test' }));
  ({ admin, rad } = await adminAndRadiologist());
  const imported = await ws.services.dicom.importPaths([defaultDemoFolder()], { actor: 'test' });
  expect(imported.studyIds.length).toBeGreaterThanOrEqual(4);
}, 180_000);

afterAll(async () => {
  await ws?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('signing a report asks for the password again', () => {
  let report: Report;

  it('without a password the request is refused by its schema, on either transport, and nothing is signed', async () => {
    report = await readyToSign(rad, 'DEMO-GLIOMA');
    const noPassword = await call(rad, 'reports.sign', { reportId: report.id, baseRevision: report.revision });
    expect(noPassword).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    expect(noPassword.message).toContain('password');
    expect(await call(rad, 'reports.sign', { reportId: report.id, baseRevision: report.revision, password: '' })).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    // The Electron transport dispatches through the same table: the same refusal.
    const electron = createConnection('electron');
    await ok(electron, 'auth.login', { username: TEST_RADIOLOGIST.username, password: TEST_RADIOLOGIST.password });
    expect(await call(electron, 'reports.sign', { reportId: report.id, baseRevision: report.revision })).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    expect((await ok<Report>(rad, 'reports.get', { reportId: report.id })).status).toBe('draft');
  });

  it('a wrong password refuses, signs nothing, leaves the session alone, and is audited', async () => {
    const wrong = await call(rad, 'reports.sign', { reportId: report.id, baseRevision: report.revision, password: 'not-my-password-1' });
    expect(wrong).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
    expect(wrong.message).toMatch(/password is not right/);
    const after = await ok<Report>(rad, 'reports.get', { reportId: report.id });
    expect(after).toMatchObject({ status: 'draft', signedAt: null, contentHash: null, revision: report.revision });
    expect(await call(rad, 'auth.me', {})).toMatchObject({ ok: true });
    expect(auditRows('report.sign', report.id).at(-1)).toMatchObject({ outcome: 'refused', detail: { reason: 'bad-password' } });
    expect(auditRows('auth.confirmIdentity').at(-1)).toMatchObject({ outcome: 'failure' });
    // Nothing went to the outbox.
    expect(ws.services.sync.listOutbox({ limit: 100 }).total).toBe(0);
  });

  it("another account's password does not sign for this one", async () => {
    expect(await call(rad, 'reports.sign', { reportId: report.id, baseRevision: report.revision, password: 'admin-password-0042' })).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
  });

  it('the right password signs; the audit row records the meaning, the printed name and the identity check', async () => {
    const signed = await ok<Report>(rad, 'reports.sign', { reportId: report.id, baseRevision: report.revision, password: TEST_RADIOLOGIST.password });
    expect(signed).toMatchObject({ status: 'final', signedByName: 'Dr Rad' });
    const row = auditRows('report.sign', report.id).at(-1)!;
    expect(row).toMatchObject({ outcome: 'success', actor: TEST_RADIOLOGIST.username, detail: { meaning: SIGNATURE_MEANINGS.sign, signer: 'Dr Rad', identity: 'password' } });
    expect(SIGNATURE_MEANINGS.sign).toBe('final report, signed by');
    expect(JSON.stringify(row)).not.toContain(TEST_RADIOLOGIST.password);
  });

  it('an addendum is a signature too: no password, no addendum; with it, the meaning is recorded', async () => {
    expect(await call(rad, 'reports.addAddendum', { reportId: report.id, text: 'Compared with the outside study: stable.' })).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    expect(await call(rad, 'reports.addAddendum', { reportId: report.id, text: 'Compared with the outside study: stable.', password: 'wrong-password-22' })).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
    expect((await ok<Report>(rad, 'reports.get', { reportId: report.id })).addenda).toHaveLength(0);
    const r = await ok<Report>(rad, 'reports.addAddendum', { reportId: report.id, text: 'Compared with the outside study: stable.', password: TEST_RADIOLOGIST.password });
    expect(r.addenda).toHaveLength(1);
    expect(auditRows('report.addAddendum', report.id).at(-1)).toMatchObject({ outcome: 'success', detail: { meaning: SIGNATURE_MEANINGS.addendum, signer: 'Dr Rad' } });
  });
});

describe('wrong signing passwords count toward the lockout', () => {
  it('after the allowed attempts the account is locked: the right password then neither signs nor signs in', async () => {
    await ok(admin, 'users.create', { username: 'rad2', displayName: 'Dr Second', role: 'radiologist', password: 'second-reader-pw-0042' });
    const rad2 = await signIn('rad2', 'second-reader-pw-0042');
    const report = await readyToSign(rad2, 'DEMO-MENINGIOMA');
    const attempts = ws.services.settings.get().lockoutAttempts;
    for (let i = 0; i < attempts; i++) {
      expect(await call(rad2, 'reports.sign', { reportId: report.id, baseRevision: report.revision, password: `wrong-${i}-password` })).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
    }
    const locked = await call(rad2, 'reports.sign', { reportId: report.id, baseRevision: report.revision, password: 'second-reader-pw-0042' });
    expect(locked).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
    expect(locked.message).toMatch(/locked/i);
    expect((await ok<Report>(rad2, 'reports.get', { reportId: report.id })).status).toBe('draft');
    expect(await call(createConnection('host'), 'auth.login', { username: 'rad2', password: 'second-reader-pw-0042' })).toMatchObject({ ok: false });
    expect(auditRows('report.sign', report.id).at(-1)).toMatchObject({ outcome: 'refused', detail: { reason: 'locked' } });
  });
});

describe('with TOTP enrolled', () => {
  it('signing needs the current code as well; the audit row says password+totp', async () => {
    await ok(admin, 'users.create', { username: 'rad3', displayName: 'Dr Third', role: 'radiologist', password: 'third-reader-pw-0042' });
    const rad3 = await signIn('rad3', 'third-reader-pw-0042');
    const { secret } = await ok<{ secret: string }>(rad3, 'auth.totpBegin', {});
    await ok(rad3, 'auth.totpConfirm', { code: totpCode(secret, Date.now() - 30_000) });
    const report = await readyToSign(rad3, 'DEMO-PITUITARY');
    const base = { reportId: report.id, baseRevision: report.revision, password: 'third-reader-pw-0042' };
    const needsCode = await call(rad3, 'reports.sign', base);
    expect(needsCode).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
    expect(needsCode.message).toMatch(/authenticator/);
    expect(await call(rad3, 'reports.sign', { ...base, totpCode: '000000' === totpCode(secret, Date.now()) ? '111111' : '000000' })).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
    expect((await ok<Report>(rad3, 'reports.get', { reportId: report.id })).status).toBe('draft');
    const signed = await ok<Report>(rad3, 'reports.sign', { ...base, totpCode: totpCode(secret, Date.now()) });
    expect(signed.status).toBe('final');
    expect(auditRows('report.sign', report.id).at(-1)).toMatchObject({ outcome: 'success', detail: { identity: 'password+totp', meaning: SIGNATURE_MEANINGS.sign } });
  });
});
