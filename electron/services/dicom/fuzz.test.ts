// Fuzz, the CI-sized run: real files mutated (bit flips, truncations, length-field corruption,
// splices) go through parse + decode thousands of times with a fixed seed. Every attempt must end
// in a result or a DicomRefusal, never another exception, with bounded memory. The long run
// (10^5 attempts, hangs caught by a watchdog, peak memory) is `npm run fuzz`, outside CI.
import { describe, expect, it } from 'vitest';
import { FUZZ_SEED_FILES, attemptRng, fuzzOne, loadSeedFiles, mutate } from '../../testing/fuzz';

const ITERATIONS = 3000;
const SEED = 20240611;

describe('fuzz: parse + decode of mutated real files', () => {
  it(`survives ${ITERATIONS} mutations with only refusals`, async () => {
    const seeds = loadSeedFiles();
    const unexpected: string[] = [];
    let refused = 0;
    let decoded = 0;
    const heapStart = process.memoryUsage().heapUsed;
    for (let i = 0; i < ITERATIONS; i++) {
      const bytes = mutate(seeds[i % seeds.length]!, attemptRng(SEED, i));
      try {
        if ((await fuzzOne(bytes)) === 'decoded') decoded++;
        else refused++;
      } catch (err) {
        unexpected.push(`#${i} (${FUZZ_SEED_FILES[i % FUZZ_SEED_FILES.length]}): ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
      }
    }
    expect(unexpected.slice(0, 10)).toEqual([]);
    expect(refused).toBeGreaterThan(ITERATIONS / 10);
    expect(decoded).toBeGreaterThan(0);
    expect(process.memoryUsage().heapUsed - heapStart).toBeLessThan(512 * 1024 * 1024);
  }, 120_000);
});
