// Bench suite "ai-background": how long after an import a study's AI result is stored by the
// background queue, next to the import alone, in the same run and on the same data. Each round
// imports a fresh 8-slice glioma series (the e2e fixture, distinct UIDs per round) twice over:
// once with the queue off (the import alone), once with it on, timed from the import's start to
// the study scored. The services are the real ones (encrypted store, DICOM import, inference pool,
// AI results, the background queue); the queue's settle period is 0 here and reported apart, as
// the production default adds it on top by design (it waits for a study to stop arriving).
import path from 'node:path';
import { writeGliomaSeries } from '../../../e2e/fixtures/glioma-series';
import { createAiResultsService, createBackgroundScoring } from '../../services/ai-results';
import { createDicomService } from '../../services/dicom';
import { createInferenceService } from '../../services/inference';
import { silentLogger } from '../../services/log';
import { createStore } from '../../services/store';
import { appRoot } from '../../services/config';
import type { BenchSuite } from './types';

const SETTLE_DEFAULT_MS = 3000;

export const aiBackgroundBench: BenchSuite = {
  name: 'ai-background',
  description: 'import to AI result stored by the background queue, against the import alone (same run, same series)',
  async run(ctx) {
    const rounds = ctx.quick ? 1 : 3;
    const store = await createStore({ dataFolder: path.join(ctx.workDir, 'data'), keySource: 'passphrase', passphrase: 'bench passphrase for ai-background' });
    if (!store.isOpen()) throw new Error(`the bench store did not open: ${store.status().problem}`);
    const db = () => store.db();
    // The hook the DICOM service calls after each committed batch, as compose.ts wires it.
    const dicom = createDicomService({ db, dataFolder: path.join(ctx.workDir, 'data'), onStudiesImported: (ids) => queue.arrived(ids) });
    const inference = createInferenceService({ config: { modelsFolder: path.join(appRoot(), 'native-models'), runtime: 'auto' }, logger: silentLogger });
    const ai = createAiResultsService({ db, images: { study: (id) => dicom.index.get(id), frame: (id, f) => dicom.getFrame(id, f) }, inference });
    let on = false;
    let scored: ((studyId: string) => void) | null = null;
    const queue = createBackgroundScoring({
      db,
      ai,
      study: (id) => dicom.index.get(id),
      currentModel: async () => {
        const m = await inference.loadModel();
        return { id: m.spec.id, version: m.spec.version };
      },
      enabled: () => on,
      ready: () => true,
      settleMs: 0,
      onChange: (e) => (e.state === 'scored' ? scored?.(e.studyId) : undefined),
    });
    const importSeries = async (key: string) => {
      const files = writeGliomaSeries(path.join(ctx.workDir, key), undefined, { key, patientName: `BENCH^${key}`, patientId: `BENCH-${key}`, accession: key });
      const t0 = performance.now();
      const report = await dicom.importPaths(files, { actor: 'bench' });
      return { t0, importMs: performance.now() - t0, studyId: report.studyIds[0]! };
    };
    try {
      // Warm: the model loaded and the workers started, as on a workstation that has scored once.
      await queue.start();
      await inference.warmUp();
      await dicom.warmUp();
      const importAlone: number[] = [];
      const toScored: number[] = [];
      const importWithQueue: number[] = [];
      for (let r = 0; r < rounds; r++) {
        on = false;
        importAlone.push((await importSeries(`alone-${r}`)).importMs);
        on = true;
        const done = new Promise<string>((resolve) => (scored = resolve));
        const t = await importSeries(`queued-${r}`);
        const id = await done;
        if (id !== t.studyId) throw new Error('the queue scored another study than the one imported');
        toScored.push(performance.now() - t.t0);
        importWithQueue.push(t.importMs);
        await queue.idle();
      }
      const best = (xs: number[]): number => Math.round(Math.min(...xs));
      const ratio = best(toScored) / best(importAlone);
      ctx.log(`import of an 8-slice MR series alone: best ${best(importAlone)} ms (rounds ${importAlone.map(Math.round).join(', ')})`);
      ctx.log(`per-round ratio (import to scored / import alone): ${toScored.map((t, i) => (t / importAlone[i]!).toFixed(2)).join(', ')}; scoring after the import: ${toScored.map((t, i) => Math.round(t - importWithQueue[i]!)).join(', ')} ms`);
      ctx.log(`import to AI result stored by the background queue: best ${best(toScored)} ms (rounds ${toScored.map(Math.round).join(', ')}) = ${ratio.toFixed(2)}x the import alone; plus the ${SETTLE_DEFAULT_MS} ms settle period by default`);
      return {
        rounds,
        images: 8,
        importAloneMs: importAlone,
        importWithQueueMs: importWithQueue,
        importToScoredMs: toScored,
        bestRatio: Math.round(ratio * 100) / 100,
        settleDefaultMs: SETTLE_DEFAULT_MS,
        runtime: inference.activeRuntime(),
      };
    } finally {
      await queue.close();
      await ai.close();
      await inference.close();
      await dicom.close();
      store.close();
    }
  },
};
