// A fuzz worker: runs attempts [from, to) of a seeded run and reports each one before it starts,
// so the parent's watchdog knows which attempt hung; a crash (an exception other than a refusal)
// is reported with its attempt number, and the worker goes on.
import { parentPort, workerData } from 'node:worker_threads';
import { attemptRng, fuzzOne, loadSeedFiles, mutate } from '../../testing/fuzz';

interface Job {
  seed: number;
  from: number;
  to: number;
}
const job = workerData as Job;
const seeds = loadSeedFiles();
for (let i = job.from; i < job.to; i++) {
  parentPort!.postMessage({ kind: 'start', i });
  try {
    // Each outcome is sent as it happens: a worker ended by the watchdog loses none of them.
    parentPort!.postMessage({ kind: 'result', i, outcome: await fuzzOne(mutate(seeds[i % seeds.length]!, attemptRng(job.seed, i))) });
  } catch (err) {
    parentPort!.postMessage({ kind: 'crash', i, error: err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 300) : String(err).slice(0, 300) });
  }
}
parentPort!.postMessage({ kind: 'done' });
