// Child process for the reader-isolation test: registers a data set and scores it with the
// shipped model, as the app's main process does, then prints what happened as one JSON line.
// The test starts it with a small main-thread heap (--max-old-space-size): any data set file
// parsed on this thread instead of in the reader worker shows up as this process dying.
import fs from 'node:fs';
import path from 'node:path';
import { createAuditLog } from '../services/audit';
import { createInferenceService } from '../services/inference';
import { silentLogger } from '../services/log';
import { createResearchService } from '../services/research';
import { createStore } from '../services/store';

const [dataDir, datasetDir, modelsFolder, heapMb] = process.argv.slice(2) as [string, string, string, string];
fs.mkdirSync(dataDir, { recursive: true });
const store = await createStore({ dataFolder: dataDir, keySource: 'passphrase', passphrase: 'reader isolation test 42' });
const audit = createAuditLog(() => store.db());
const inference = createInferenceService({ config: { modelsFolder, runtime: 'auto' }, logger: silentLogger, poolSize: 1 });
const research = createResearchService({ db: () => store.db(), inference, audit, logger: silentLogger, modelsFolder, bootstrapResamples: 50, readerLimits: { heapMb: Number(heapMb) } });
const actor = { userId: null, username: 'researcher-test' };
const ds = await research.registerDataset(datasetDir, 'hostile', actor);
const [run] = await research.startRuns(ds.id, ['tumornet'], { masks: false }, actor);
const done = await research.waitForRun(run!.id);
const failed = (store.db().prepare('SELECT r.error, i.file FROM research_results r JOIN research_items i ON i.dataset_id = ? AND i.idx = r.idx WHERE r.run_id = ? AND r.ok = 0').all(ds.id, run!.id) as { error: string; file: string }[]).map((r) => ({ file: path.basename(r.file), error: r.error }));
process.stdout.write(JSON.stringify({ items: ds.items, kind: ds.kind, thumbnails: ds.thumbnails.map((t) => t.itemId), status: done.status, done: done.done, failed }) + '\n');
const keepAlive = setInterval(() => {}, 60_000);
await research.close();
await inference.close();
store.close();
clearInterval(keepAlive);
