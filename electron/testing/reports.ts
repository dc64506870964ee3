// Test fixture for the reports tests: a real encrypted store with every migration, real DICOM
// files imported by the DICOM service (two studies of one patient, made with dcmtk's dcmodify),
// AI results stored as the AI service stores them, and one account per role.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { PNG } from 'pngjs';
import type { ModelClaims, Role } from '../contract';
import { createAuditLog, type AuditLog } from '../services/audit';
import { createAuthService, hashPassword, type AuthService } from '../services/auth';
import { createSettingsService } from '../services/settings';
import { createAiResultsService, type AiResultsService } from '../services/ai-results';
import { createDicomService, type DicomService } from '../services/dicom';
import { createStore, type Db, type Store } from '../services/store';
import { createReportsService, type Actor, type MeasurementSource, type ReportsService, type SignatureCredentials } from '../services/reports/report-service';
import { createMeasurementsService, type MeasurementsService } from '../services/measurements';
import { createTrackingService } from '../services/tracking';

export const FIXTURE_DICOM = path.resolve(import.meta.dirname, '../services/dicom/fixtures/files/MR_small_jpeg_lossless_sv1.dcm');
export const PASS = 'reports test passphrase';
/** Every fixture account's password: signing asks for it again. */
export const SIGNER_PASSWORD = 'signer-password-0042';
export const SIGN: SignatureCredentials = { password: SIGNER_PASSWORD };

export interface ReportsFixture {
  dir: string;
  store: Store;
  db: () => Db;
  audit: AuditLog;
  dicom: DicomService;
  aiResults: AiResultsService;
  reports: ReportsService;
  /** The real auth service: it confirms each signature's password (and counts wrong ones). */
  auth: AuthService;
  actors: Record<Role, Actor>;
  /** The current study (2024) and the prior one (2023) of the same patient. */
  studyId: string;
  priorStudyId: string;
  /** Further studies of the patient (1990 onwards), each with an AI result. */
  extraStudyIds: string[];
  /** The real measurements service, wired into the reports service when `withTracking`. */
  measurements: MeasurementsService;
  close(): Promise<void>;
}

/** A copy of the fixture file as another study of the same patient (dcmtk's dcmodify). */
function studyCopy(dir: string, name: string, studyDate: string, n: number): string {
  const file = path.join(dir, name);
  fs.copyFileSync(FIXTURE_DICOM, file);
  try {
    execFileSync('dcmodify', ['-nb', '-m', `StudyInstanceUID=1.2.826.0.1.3680043.10.999.${n}.1`, '-m', `SeriesInstanceUID=1.2.826.0.1.3680043.10.999.${n}.2`, '-m', `SOPInstanceUID=1.2.826.0.1.3680043.10.999.${n}.3`, '-m', `StudyDate=${studyDate}`, file], { stdio: 'pipe' });
  } catch (err) {
    throw new Error(`dcmodify (dcmtk) failed or is missing: apt-get install dcmtk. ${(err as Error).message}`);
  }
  return file;
}

/** A 64x64 mask with a disc left of centre in the image (the patient's right on an axial slice). */
export function discMask(width = 64, height = 64, cx = 20, cy = 30, r = 8): Uint8Array {
  const m = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) m[y * width + x] = 1;
  return m;
}

/** Stores an AI result for a study's single instance the way the AI results service does. */
export function seedAi(db: Db, studyId: string, opts: { label: string; probability: number; mask: Uint8Array; pixelMm2?: number }): void {
  const inst = db.prepare('SELECT i.id, i.series_id, i.columns, i.rows FROM instances i JOIN series s ON s.id = i.series_id WHERE s.study_id = ?').get(studyId) as { id: string; series_id: string; columns: number; rows: number };
  const area = opts.mask.reduce((s, v) => s + (v ? 1 : 0), 0);
  const areaMm2 = area * (opts.pixelMm2 ?? 0.3125 * 0.3125);
  const now = new Date().toISOString();
  const probs = { glioma: 0.02, meningioma: 0.02, notumor: 0.02, pituitary: 0.02, [opts.label]: opts.probability };
  db.transaction(() => {
    db.prepare(`INSERT OR REPLACE INTO ai_runs (study_id, status, model_id, model_version, runtime, total, done, started_at, finished_at, started_by) VALUES (?, 'done', 'tumor-cnn', '1.2.0', 'wasm', 1, 1, ?, ?, 'test')`).run(studyId, now, now);
    db.prepare(
      `INSERT OR REPLACE INTO ai_instance_results (instance_id, study_id, series_id, model_id, model_version, runtime, label, confidence, probabilities, area_px, area_mm2, mask_width, mask_height, mask, ms, created_at)
       VALUES (?, ?, ?, 'tumor-cnn', '1.2.0', 'wasm', ?, ?, ?, ?, ?, ?, ?, ?, 5, ?)`,
    ).run(inst.id, studyId, inst.series_id, opts.label, opts.probability, JSON.stringify(probs), area, areaMm2, inst.columns, inst.rows, area ? zlib.deflateRawSync(opts.mask) : null, now);
    db.prepare(`INSERT OR REPLACE INTO ai_series_results (series_id, study_id, model_id, model_version, runtime, label, confidence, key_instance_id, slices, counts, created_at) VALUES (?, ?, 'tumor-cnn', '1.2.0', 'wasm', ?, ?, ?, 1, ?, ?)`).run(
      inst.series_id,
      studyId,
      opts.label,
      opts.probability,
      inst.id,
      JSON.stringify({ [opts.label]: 1 }),
      now,
    );
  })();
}

/** A PNG of a solid colour (red by default), for key images the PDF test can find after rendering. */
export function solidPng(width = 96, height = 96, rgb: [number, number, number] = [230, 20, 20]): Buffer {
  const png = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) {
    png.data[i * 4] = rgb[0];
    png.data[i * 4 + 1] = rgb[1];
    png.data[i * 4 + 2] = rgb[2];
    png.data[i * 4 + 3] = 255;
  }
  return PNG.sync.write(png);
}

/**
 * `withTracking`: the reports service gets the measurements and tracking services, as compose.ts
 * wires them. `measurementSource`: measurements handed in as given (the SR conformance test).
 */
export async function createReportsFixture(options: { dataDir?: string; seed?: boolean; extraStudies?: number; withTracking?: boolean; measurementSource?: MeasurementSource; modelClaims?: (modelId: string) => ModelClaims | null } = {}): Promise<ReportsFixture> {
  const dir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tp-reports-'));
  const store = await createStore({ dataFolder: dir, keySource: 'passphrase', passphrase: PASS });
  if (!store.isOpen()) throw new Error(`store did not open: ${store.status().problem}`);
  const db = () => store.db();
  const audit = createAuditLog(db);
  const dicom = createDicomService({ db, dataFolder: dir, audit, workers: 1 });
  const aiResults = createAiResultsService({
    db,
    images: { study: (id) => dicom.index.get(id), frame: (id, f) => dicom.getFrame(id, f) },
    // Reports only read stored results; nothing here runs the model.
    inference: {
      classify: () => {
        throw new Error('the reports tests do not run the model');
      },
    },
  });
  const auth = createAuthService({ db, audit, settings: createSettingsService(db) });
  const measurements = createMeasurementsService({ db, frame: (id, f) => dicom.getFrame(id, f), audit });
  const tracking = createTrackingService({ db, ai: aiResults, measurements });
  const reports = createReportsService({
    db,
    audit,
    identity: auth,
    ai: aiResults,
    images: { study: (id) => dicom.index.get(id), geometry: (id) => dicom.imageGeometry(id) },
    institution: 'Test Hospital',
    ...(options.withTracking ? { measurements, tracking } : {}),
    ...(options.measurementSource ? { measurements: options.measurementSource } : {}),
    ...(options.modelClaims ? { modelClaims: options.modelClaims } : {}),
  });
  const actors = {} as Record<Role, Actor>;
  let studyId = '';
  let priorStudyId = '';
  const seeded = (db().prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n > 0;
  if (options.seed !== false && !seeded) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-reports-dcm-'));
    const current = studyCopy(tmp, 'current.dcm', '20240315', 1);
    const prior = studyCopy(tmp, 'prior.dcm', '20230310', 2);
    const extra = Array.from({ length: options.extraStudies ?? 0 }, (_, i) => studyCopy(tmp, `extra-${i}.dcm`, `${1990 + i}0101`, 10 + i));
    const report = await dicom.importPaths([current, prior, ...extra], { actor: 'test' });
    fs.rmSync(tmp, { recursive: true, force: true });
    if (report.studyIds.length !== 2 + extra.length) throw new Error(`expected ${2 + extra.length} studies from the import, got ${JSON.stringify(report.entries)}`);
    const now = new Date().toISOString();
    const patientId = (db().prepare('SELECT patient_id FROM studies LIMIT 1').get() as { patient_id: string }).patient_id;
    const hash = await hashPassword(SIGNER_PASSWORD);
    for (const role of ['admin', 'radiologist', 'researcher', 'patient'] as Role[]) {
      db()
        .prepare('INSERT INTO users (id, username, display_name, role, patient_id, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(`u-${role}`, `${role}1`, role === 'radiologist' ? 'Dr. Ada Reader' : `${role} one`, role, role === 'patient' ? patientId : null, hash, now, now);
    }
  }
  for (const role of ['admin', 'radiologist', 'researcher', 'patient'] as Role[]) {
    const u = db().prepare('SELECT id, username, patient_id FROM users WHERE role = ? ORDER BY created_at LIMIT 1').get(role) as { id: string; username: string; patient_id: string | null } | undefined;
    if (u) actors[role] = { userId: u.id, username: u.username, role, patientId: u.patient_id };
  }
  const studies = db().prepare('SELECT id FROM studies ORDER BY study_date DESC').all() as { id: string }[];
  studyId = studies[0]?.id ?? '';
  priorStudyId = studies[1]?.id ?? '';
  const extraStudyIds = studies.slice(2).map((s) => s.id);
  if (options.seed !== false && !seeded) {
    seedAi(db(), studyId, { label: 'glioma', probability: 0.91, mask: discMask(64, 64, 20, 30, 8) });
    seedAi(db(), priorStudyId, { label: 'glioma', probability: 0.84, mask: discMask(64, 64, 20, 30, 6) });
    for (const id of extraStudyIds) seedAi(db(), id, { label: 'meningioma', probability: 0.7, mask: discMask(64, 64, 40, 30, 5) });
  }
  return {
    dir,
    store,
    db,
    audit,
    dicom,
    aiResults,
    reports,
    auth,
    actors,
    studyId,
    priorStudyId,
    extraStudyIds,
    measurements,
    async close() {
      await aiResults.close();
      await dicom.close();
      store.close();
    },
  };
}
