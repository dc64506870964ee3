// The worker pool: batches run off the main event loop (it stays responsive), a batch can be
// cancelled and the pool keeps working afterwards, one bad image never sinks the rest.
// No assertion here is on a duration: responsiveness is the order of events on the main loop,
// a cancellation is what reached the workers.
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { WorkstationError } from '../../contract';
import { silentLogger } from '../log';
import { IN_FLIGHT, WorkerPool } from './pool';
import type { InferenceInput } from './protocol';
import { createInferenceService } from './service';
import { mriImages, requireModelDir } from '../../testing/inference';

const svc = createInferenceService({ config: { modelsFolder: path.dirname(requireModelDir()), runtime: 'auto' }, logger: silentLogger });
afterAll(() => svc.close());

const files = ['glioma', 'meningioma', 'notumor', 'pituitary'].flatMap((c) => mriImages(c, 10));
function inputs(n: number): InferenceInput[] {
  return Array.from({ length: n }, (_, i) => ({ id: `img-${i}`, source: { kind: 'file' as const, path: files[i % files.length]! } }));
}

describe('inference worker pool', () => {
  it('is sized to the cores and reports its runtime', async () => {
    await svc.warmUp();
    const st = svc.status();
    expect(st.poolSize).toBeGreaterThanOrEqual(1);
    expect(st.activeRuntime).toBe('onnxruntime-node');
    expect(st.loaded).toEqual([{ modelId: 'tumornet', runtime: 'onnxruntime-node', workers: st.poolSize }]);
  });

  it('scores off the main event loop: the loop keeps turning while each batch is scored', async () => {
    // A chain of setImmediate callbacks counts the loop's turns; each batch result notes the count.
    // Scoring on the main thread would show no turn before the first result (one blocking run) or
    // one turn per batch (a run that yields between batches); workers leave the loop free, so it
    // turns many times while each batch is in a worker.
    let turns = 0;
    let spinning = true;
    const spin = (): void => {
      if (!spinning) return;
      turns++;
      setImmediate(spin);
    };
    const turnsAtResult: number[] = [];
    const run = svc.classify(inputs(48), { batchSize: 8, wantMask: true, onProgress: () => turnsAtResult.push(turns) });
    setImmediate(spin);
    const out = await run.finally(() => (spinning = false));
    expect(out.filter((o) => o.ok).length).toBe(48);
    expect(turnsAtResult).toHaveLength(6);
    expect(turnsAtResult[0], 'loop turns before the first batch came back').toBeGreaterThan(1);
    const gaps = turnsAtResult.slice(1).map((t, i) => t - turnsAtResult[i]!);
    // Two results may arrive in one turn (two workers); most gaps hold several turns.
    expect(gaps.filter((g) => g > 1).length, `loop turns between batch results: ${gaps.join(', ')}`).toBeGreaterThanOrEqual(Math.ceil(gaps.length / 2));
  });

  it('reports progress and cancels a batch on abort; the pool keeps working afterwards', async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    const p = svc.classify(inputs(400), {
      batchSize: 4,
      signal: controller.signal,
      onProgress: (pr) => {
        seen.push(pr.done);
        if (pr.done >= 8) controller.abort();
      },
    });
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkstationError);
    expect((err as WorkstationError).details).toMatchObject({ cancelled: true, total: 400 });
    expect((err as WorkstationError).message).toMatch(/cancelled after \d+ of 400/);
    expect(Math.max(...seen)).toBeLessThan(400);
    // The in-flight batches drain and the pool goes idle (the wait is a condition, not a duration).
    await vi.waitFor(() => expect(svc.status().busy).toBe(false), { timeout: 120_000, interval: 20 });
    const after = await svc.classify(inputs(6), { batchSize: 4 });
    expect(after.every((o) => o.ok)).toBe(true);
  });

  it('a cancelled run sends no more batches to the workers: only those already in flight finish', async () => {
    const model = await svc.loadModel();
    const pool = new WorkerPool({ engine: 'onnxruntime-node', device: 'cpu', size: 1, threadsPerWorker: 1, spec: model.spec, files: model.files, logger: silentLogger });
    try {
      await pool.start();
      const controller = new AbortController();
      let sentAtAbort = -1;
      const err = await pool
        .run(inputs(400), {
          batchSize: 4,
          signal: controller.signal,
          onProgress: (pr) => {
            if (pr.done >= 8 && sentAtAbort < 0) {
              controller.abort();
              sentAtAbort = pool.batchesSent;
            }
          },
        })
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(err).toMatchObject({ code: 'CONFLICT', details: { cancelled: true, total: 400 } });
      // Two batches answered, at most IN_FLIGHT more waiting in the worker: the other 96 stay queued.
      expect(sentAtAbort).toBeGreaterThanOrEqual(2);
      expect(sentAtAbort).toBeLessThanOrEqual(2 + IN_FLIGHT);
      await vi.waitFor(() => expect(pool.busy).toBe(false), { timeout: 120_000, interval: 20 });
      // Draining the in-flight batches dispatched none of the cancelled ones.
      expect(pool.batchesSent).toBe(sentAtAbort);
      const after = await pool.run(inputs(6), { batchSize: 4 });
      expect(after.outcomes.map((o) => o.ok)).toEqual([true, true, true, true, true, true]);
      expect(pool.batchesSent).toBe(sentAtAbort + 2);
    } finally {
      await pool.close();
    }
  });

  it('an already-aborted signal scores nothing', async () => {
    const c = new AbortController();
    c.abort();
    await expect(svc.classify(inputs(5), { signal: c.signal })).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('lists a missing, a non-image and a malformed-pixels input with their reasons and scores the rest', async () => {
    const batch: InferenceInput[] = [
      ...inputs(3),
      { id: 'missing', source: { kind: 'file', path: '/nonexistent/scan.png' } },
      { id: 'not-image', source: { kind: 'file', path: path.join(requireModelDir(), 'model-card.json') } },
      { id: 'short-pixels', source: { kind: 'pixels', image: { width: 100, height: 100, channels: 1, bitsPerSample: 8, data: new Uint8Array(10) } } },
      { id: 'folder', source: { kind: 'file', path: requireModelDir() } },
    ];
    const out = await svc.classify(batch, { batchSize: 8 });
    const byId = new Map(out.map((o) => [o.id, o]));
    expect(out.slice(0, 3).every((o) => o.ok)).toBe(true);
    expect(byId.get('missing')).toMatchObject({ ok: false, error: { code: 'NOT_FOUND', reason: 'missing' } });
    expect(byId.get('not-image')).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT', reason: 'unsupported-format' } });
    expect(byId.get('short-pixels')).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
    expect(byId.get('folder')).toMatchObject({ ok: false, error: { reason: 'folder' } });
  });

  it('every result carries model id and version, runtime, time taken, size, and mm^2 when spacing is known', async () => {
    const out = await svc.classify([{ id: 'a', source: { kind: 'file', path: files[0]! }, pixelSpacingMm: [0.5, 0.25] }], { wantMask: true });
    const o = out[0]!;
    if (!o.ok) throw new Error(o.error.message);
    expect(o.result).toMatchObject({ modelId: 'tumornet', runtime: 'onnxruntime-node', width: 224, height: 224 });
    expect(o.result.modelVersion).toMatch(/\d/);
    expect(o.result.ms).toBeGreaterThan(0);
    expect(o.mask!.length).toBe(224 * 224);
    const area = o.mask!.reduce((a, v) => a + (v === 255 ? 1 : 0), 0);
    expect(o.result.mask.areaPx).toBe(area);
    expect(o.result.mask.areaMm2).toBeCloseTo(area * 0.125, 6);
    const sum = Object.values(o.result.probabilities).reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(1, 9);
  });

  it('refuses a runtime that is not available here, saying why', async () => {
    await expect(svc.classify(inputs(1), { runtime: 'tfjs-node' })).rejects.toThrow(/tfjs-node is not available on this machine: .*tfjs-node is installed as an optional dependency/);
  });
});
