// Background priority in the worker pool, with the shipped model on real MRI images: an
// interactive call made while a long background run is under way is answered before that run
// ends (it does not wait behind the background batches), and a cancelled background run leaves
// the pool working. Order is checked by counting, never by time.
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../log';
import type { InferenceInput } from './protocol';
import { createInferenceService, type InferenceService } from './service';
import { mriImages, requireModelDir } from '../../testing/inference';

const files = ['glioma', 'meningioma', 'notumor', 'pituitary'].flatMap((c) => mriImages(c, 6));
const inputs = (n: number, prefix: string): InferenceInput[] => Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, source: { kind: 'file' as const, path: files[i % files.length]! } }));
const services: InferenceService[] = [];
const make = (poolSize: number): InferenceService => {
  const s = createInferenceService({ config: { modelsFolder: path.dirname(requireModelDir()), runtime: 'auto' }, logger: silentLogger, poolSize, threadsPerWorker: 1 });
  services.push(s);
  return s;
};
afterAll(() => Promise.all(services.map((s) => s.close())));

describe.each([1, 2])('a pool of %i worker(s)', (poolSize) => {
  it('answers an interactive call before a long background run ends', async () => {
    const svc = make(poolSize);
    await svc.warmUp();
    const total = 40;
    let backgroundDone = 0;
    const background = svc.classify(inputs(total, 'bg'), { batchSize: 1, priority: 'background', onProgress: (p) => (backgroundDone = p.done) });
    // Let the background run take the worker(s) first.
    await new Promise<void>((resolve) => {
      const check = (): void => (backgroundDone >= 1 ? resolve() : void setTimeout(check, 5));
      check();
    });
    const interactive = await svc.classify(inputs(2, 'now'), { batchSize: 2 });
    const doneWhenAnswered = backgroundDone;
    expect(interactive.every((o) => o.ok)).toBe(true);
    // At most the batches already sent to a worker finished ahead of it, not the queued rest.
    expect(doneWhenAnswered).toBeLessThan(total / 2);
    const all = await background;
    expect(all.filter((o) => o.ok)).toHaveLength(total);
  }, 240_000);
});

it('a cancelled background run leaves the pool scoring', async () => {
  const svc = make(2);
  const controller = new AbortController();
  const run = svc.classify(inputs(30, 'bg'), { batchSize: 1, priority: 'background', signal: controller.signal, onProgress: (p) => p.done >= 2 && controller.abort() });
  await expect(run).rejects.toMatchObject({ code: 'CONFLICT' });
  const after = await svc.classify(inputs(3, 'after'), { batchSize: 3 });
  expect(after.every((o) => o.ok)).toBe(true);
}, 240_000);
