// Uploads in flight cannot hold memory or quota forever (issue 12, finding 10): an upload with
// no chunk for the idle time expires and frees its quota; one owner holds at most its share;
// announcing a size takes no memory until bytes arrive.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDicomService, type DicomService } from './service';
import { openTestStore } from '../../testing/dicom';

let env: Awaited<ReturnType<typeof openTestStore>>;
let dicom: DicomService;
let clock = Date.parse('2026-05-01T10:00:00Z');
const MiB = 2 ** 20;

beforeAll(async () => {
  env = await openTestStore();
  dicom = createDicomService({ db: () => env.store.db(), dataFolder: env.dir, audit: env.audit, workers: 1, now: () => clock, uploadLimits: { totalBytes: 64 * MiB, perOwnerBytes: 40 * MiB, idleMs: 10 * 60_000 } });
});
afterAll(async () => {
  await dicom?.close();
  env?.cleanup();
});

describe('uploads in flight', () => {
  it('an upload that receives nothing for the idle time expires', () => {
    const { uploadId } = dicom.beginUpload('idle.dcm', 1000, 'conn-a');
    dicom.uploadChunk(uploadId, 0, Buffer.alloc(10), 'conn-a');
    clock += 9 * 60_000;
    dicom.uploadChunk(uploadId, 10, Buffer.alloc(10), 'conn-a'); // activity restarts the idle clock
    clock += 11 * 60_000;
    expect(() => dicom.uploadChunk(uploadId, 20, Buffer.alloc(10), 'conn-a')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });

  it('one owner cannot take the whole quota, and an abandoned quota comes back after the idle time', () => {
    clock += 3_600_000;
    dicom.beginUpload('a.dcm', 40 * MiB, 'hog');
    expect(() => dicom.beginUpload('b.dcm', 1 * MiB, 'hog')).toThrow(expect.objectContaining({ code: 'UNAVAILABLE' }));
    dicom.beginUpload('c.dcm', 24 * MiB, 'other');
    expect(() => dicom.beginUpload('d.dcm', 1 * MiB, 'third')).toThrow(/Too much is being uploaded at once/);
    clock += 11 * 60_000;
    expect(dicom.beginUpload('d.dcm', 40 * MiB, 'third').uploadId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
