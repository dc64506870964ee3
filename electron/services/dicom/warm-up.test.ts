// The import workers' warm-up: its synthetic slices go through the real import path (a slice the
// parser or the checks refused would leave the workers cold), it stops when real work comes, and
// a pool's warmUp() resolves only once every worker has run it.
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { tempFolders } from '../../testing/temp';
import { DEFAULT_LIMITS } from './limits';
import { DicomPool } from './pool';
import { stageBytes } from './process';
import { keepWarm, WARM_UP_ROUNDS, warmUpImportPath, warmUpSlices } from './warm-up';

const tempFolder = tempFolders('tp-warm-');

describe('import worker warm-up', () => {
  it('makes slices the import accepts: explicit VR with every attribute, explicit VR with only what an image needs, implicit VR', async () => {
    const opts = { limits: DEFAULT_LIMITS, blobFolder: tempFolder(), kek: crypto.randomBytes(32), pack: true };
    const outs = await Promise.all(warmUpSlices().map((b) => stageBytes(b, opts)));
    const metas = outs.map((o) => {
      if (!o.ok) throw new Error(`a warm-up slice was refused: ${o.reason}`);
      expect(o.record).toBeDefined(); // encrypted for a pack, as an import file is
      return o.meta;
    });
    expect(metas.map((m) => m.image.transferSyntax)).toEqual(['1.2.840.10008.1.2.1', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2']);
    const [full, minimal, , implicit] = metas;
    expect(full!.series.acquisition).toMatchObject({ scanningSequence: 'SE', echoTime: 9.1, inversionTime: 250.5 });
    expect(full!.instance).toMatchObject({ pixelSpacing: [0.9375, 0.9375], windowCenter: 600.5, rescaleIntercept: -1024.5, sliceThickness: 5.5 });
    expect(minimal!.series.acquisition).toMatchObject({ scanningSequence: null, echoTime: null });
    expect(minimal!.instance).toMatchObject({ pixelSpacing: null, windowCenter: null, rescaleSlope: 1 });
    expect(implicit!.image).toMatchObject({ rows: 64, columns: 64, bitsAllocated: 16 });
  });

  it('runs the rounds it is asked for, and stops at the next chunk once real work waits', async () => {
    const opts = { limits: DEFAULT_LIMITS, blobFolder: tempFolder(), kek: crypto.randomBytes(32) };
    expect(await warmUpImportPath(opts, () => false, 30, 10)).toBe(30);
    let checks = 0;
    expect(await warmUpImportPath(opts, () => ++checks > 2, 1000, 10)).toBe(20);
  });

  it("resolves a pool's warmUp() once every worker has run its warm-up", async () => {
    const pool = new DicomPool({ size: 2, limits: DEFAULT_LIMITS, blobFolder: tempFolder(), kek: crypto.randomBytes(32) });
    try {
      await pool.warmUp();
      expect(pool.warmUpRounds).toBe(2 * WARM_UP_ROUNDS);
    } finally {
      await pool.close();
    }
  });

  it('lets warmUp() resolve when the pool is closed before the workers are warm', async () => {
    const pool = new DicomPool({ size: 1, limits: DEFAULT_LIMITS, blobFolder: tempFolder(), kek: crypto.randomBytes(32) });
    const warming = pool.warmUp();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await pool.close();
    await warming;
    expect(pool.warmUpRounds).toBeLessThan(WARM_UP_ROUNDS);
  });

  it('warms again while idle, never while busy, and stops keeping warm a while after the last work', async () => {
    const opts = { limits: DEFAULT_LIMITS, blobFolder: tempFolder(), kek: crypto.randomBytes(32) };
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
    const until = async (ok: () => boolean): Promise<void> => {
      for (let i = 0; i < 500 && !ok(); i++) await sleep(10);
      expect(ok()).toBe(true);
    };
    let busy = false;
    const forMs = 1500;
    const kw = keepWarm(opts, () => busy, { idleMs: 30, rounds: 2, forMs });
    try {
      // Idle: it runs, and again as long as the idling lasts.
      await until(() => kw.runs() >= 2);
      // Busy: no new warm-up starts (one already running may end).
      busy = true;
      await sleep(60);
      const whileBusy = kw.runs();
      await sleep(150);
      expect(kw.runs()).toBe(whileBusy);
      // Work done: idle again, it runs again; past forMs after that work it stops.
      busy = false;
      const touched = Date.now();
      kw.touch();
      await until(() => kw.runs() > whileBusy);
      await sleep(Math.max(0, touched + forMs + 100 - Date.now()));
      const after = kw.runs();
      await sleep(200);
      expect(kw.runs()).toBe(after);
    } finally {
      kw.stop();
    }
  });
});
