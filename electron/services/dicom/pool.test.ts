// The DICOM worker pool with a real worker thread: files queued in a worker are answered in
// fewer messages than files (a worker with more files waiting holds an answer and sends it with
// the next ones), every file still gets its own right answer, and a file sent alone is answered
// at once (nothing waits for company that never comes).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { imageBody, part10 } from '../../testing/dicom';
import { sha256Hex } from '../blobs';
import { DEFAULT_LIMITS } from './limits';
import { DicomPool, QUEUED_PER_WORKER } from './pool';
import { defaultDicomWorkers } from './service';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

describe('DICOM worker pool', () => {
  it('answers a queue of files in fewer messages than files, each file with its own outcome', async () => {
    const blobFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-pool-'));
    dirs.push(blobFolder);
    const pool = new DicomPool({ size: 1, limits: DEFAULT_LIMITS, blobFolder, kek: crypto.randomBytes(32) });
    try {
      await pool.warmUp();
      const afterStart = pool.messagesReceived;
      const files = Array.from({ length: 3 * QUEUED_PER_WORKER }, (_, i) =>
        part10(imageBody({ rows: 16, cols: 16, sop: `1.2.826.0.1.3680043.10.999.9.${i + 1}`, pixels: Buffer.alloc(512, i) })),
      );
      const answers = await Promise.all(files.map((bytes) => pool.run({ kind: 'bytes', bytes: new Uint8Array(bytes) })));
      answers.forEach((m, i) => {
        expect(m.kind).toBe('outcome');
        if (m.kind !== 'outcome' || !m.outcome.ok) throw new Error(`file ${i} was not staged: ${JSON.stringify(m)}`);
        expect(m.outcome.sha256).toBe(sha256Hex(files[i]!));
        expect(m.outcome.meta.instance.sopInstanceUid).toBe(`1.2.826.0.1.3680043.10.999.9.${i + 1}`);
      });
      const messages = pool.messagesReceived - afterStart;
      expect(messages).toBeGreaterThan(0);
      expect(messages).toBeLessThan(files.length / 2);

      // Alone, a file is answered without waiting for more.
      const lone = part10(imageBody({ rows: 16, cols: 16, sop: '1.2.826.0.1.3680043.10.999.9.999' }));
      const before = pool.messagesReceived;
      const m = await pool.run({ kind: 'bytes', bytes: new Uint8Array(lone) });
      expect(m.kind === 'outcome' && m.outcome.ok && m.outcome.sha256).toBe(sha256Hex(lone));
      expect(pool.messagesReceived - before).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it('uses 2 workers from 2 cores on (half the cores from 4 on), at most 4', () => {
    expect([1, 2, 3, 4, 6, 8, 16].map(defaultDicomWorkers)).toEqual([1, 2, 2, 2, 3, 4, 4]);
  });
});
