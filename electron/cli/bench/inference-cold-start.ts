// Child process of the inference bench: a cold start of the inference service in a fresh Node
// process, then one image scored; prints the times as one JSON line on stdout.
import { silentLogger } from '../../services/log';
import { createInferenceService } from '../../services/inference';

const [image, modelsFolder, runtime] = process.argv.slice(2);
const tService = performance.now();
const svc = createInferenceService({ config: { modelsFolder: modelsFolder!, runtime: (runtime as 'auto') ?? 'auto' }, logger: silentLogger });
const out = await svc.classify([{ id: 'first', source: { kind: 'file', path: image! } }]);
const tDone = performance.now();
await svc.close();
const o = out[0]!;
process.stdout.write(
  JSON.stringify({ ok: o.ok, runtime: svc.activeRuntime(), serviceStartToFirstResultMs: tDone - tService, processStartToFirstResultMs: tDone, label: o.ok ? o.result.label : null }) + '\n',
);
