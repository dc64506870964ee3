// Bench suite "research": images per second of a research run (worker pool + per-item results
// written to the encrypted database in small transactions, resumable) against the bare worker
// pool on the same images in the same run, so the price of persistence is a measured ratio;
// plus the time to compare two runs (metrics, McNemar, 1000-resample paired bootstrap).
import fs from 'node:fs';
import path from 'node:path';
import { createAuditLog } from '../../services/audit';
import { appRoot } from '../../services/config';
import { createInferenceService } from '../../services/inference';
import { silentLogger } from '../../services/log';
import { createResearchService } from '../../services/research';
import { createStore } from '../../services/store';
import type { BenchSuite } from './types';

const CLASSES = ['glioma', 'meningioma', 'notumor', 'pituitary'];

export const researchBench: BenchSuite = {
  name: 'research',
  description: 'research run (pool + resumable per-item persistence) vs the bare worker pool on the same images; comparison time',
  async run(ctx) {
    const perClass = ctx.quick ? 8 : 100;
    const src = path.resolve(appRoot(), '../shared/datasets/brain-tumor-mri');
    if (!fs.existsSync(src)) throw new Error(`The MRI data set is missing at ${src}.`);
    const modelsFolder = process.env.TUMORPREDICT_MODELS ? path.resolve(process.env.TUMORPREDICT_MODELS) : path.join(appRoot(), 'native-models');
    if (!fs.existsSync(path.join(modelsFolder, 'tumornet', 'model-card.json'))) throw new Error(`No tumornet model in ${modelsFolder}: train it with native-models/training/train.py.`);
    const ds = path.join(ctx.workDir, 'mri');
    const files: string[] = [];
    for (const c of CLASSES) {
      fs.mkdirSync(path.join(ds, c), { recursive: true });
      for (const f of fs.readdirSync(path.join(src, c)).sort().slice(0, perClass)) {
        fs.copyFileSync(path.join(src, c, f), path.join(ds, c, f));
        files.push(path.join(ds, c, f));
      }
    }
    const store = await createStore({ dataFolder: path.join(ctx.workDir, 'data'), keySource: 'passphrase', passphrase: 'research bench passphrase 42' });
    const inference = createInferenceService({ config: { modelsFolder, runtime: 'auto' }, logger: silentLogger });
    const research = createResearchService({ db: () => store.db(), inference, audit: createAuditLog(() => store.db()), logger: silentLogger, modelsFolder });
    try {
      await inference.warmUp({ modelId: 'tumornet' });
      const inputs = files.map((f, i) => ({ id: String(i), source: { kind: 'file' as const, path: f } }));
      // Baseline: the bare pool, same images, same batch size; measured before and after the
      // research run (the mean), so warm-up and file-cache effects do not favour either side.
      const bare = async (): Promise<number> => {
        const t0 = performance.now();
        await inference.classify(inputs, { modelId: 'tumornet', batchSize: 8 });
        return (performance.now() - t0) / 1000;
      };
      await bare(); // warm-up pass, not counted
      const poolBefore = await bare();
      const dataset = await research.registerDataset(ds, 'bench', { userId: null, username: 'bench' });
      let t = performance.now();
      const [runA] = await research.startRuns(dataset.id, ['tumornet'], { batchSize: 8 }, { userId: null, username: 'bench' });
      const a = await research.waitForRun(runA!.id);
      const runSec = (performance.now() - t) / 1000;
      if (a.status !== 'done') throw new Error(`bench run ended ${a.status}: ${a.error ?? ''}`);
      const poolSec = (poolBefore + (await bare())) / 2;
      const [runB] = await research.startRuns(dataset.id, ['tumornet'], { batchSize: 8 }, { userId: null, username: 'bench' });
      await research.waitForRun(runB!.id);
      t = performance.now();
      const c = await research.compare(runA!.id, runB!.id);
      const compareMs = performance.now() - t;
      const figures = {
        images: files.length,
        poolImagesPerSec: Number((files.length / poolSec).toFixed(1)),
        researchRunImagesPerSec: Number((files.length / runSec).toFixed(1)),
        persistenceOverheadPct: Number((100 * (runSec / poolSec - 1)).toFixed(1)),
        compareMs: Math.round(compareMs),
        bootstrapResamples: c.bootstrap.resamples,
        runtime: a.runtime,
      };
      ctx.log(`research: ${files.length} images; bare pool ${figures.poolImagesPerSec} img/s, research run ${figures.researchRunImagesPerSec} img/s (${figures.persistenceOverheadPct}% incl. re-hash of the data set); compare ${figures.compareMs} ms`);
      return figures;
    } finally {
      await research.close();
      await inference.close();
      store.close();
    }
  },
};
