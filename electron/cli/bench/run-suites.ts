// Runs benchmark suites one after the other: a suite that fails (a Chromium timeout in the viewer
// suite, a missing Orthanc) is reported with its error and the others still run; the caller sets
// the exit status from the failures.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchSuite } from './types';

export interface SuitesOutcome {
  suites: Record<string, unknown>;
  failed: { name: string; error: string }[];
}

export async function runSuites(suites: readonly BenchSuite[], o: { quick: boolean; log: (line: string) => void }): Promise<SuitesOutcome> {
  const out: SuitesOutcome = { suites: {}, failed: [] };
  for (const suite of suites) {
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `tp-bench-${suite.name}-`));
    o.log(`\n== ${suite.name}: ${suite.description}`);
    try {
      out.suites[suite.name] = await suite.run({ workDir, log: (l) => o.log('  ' + l), quick: o.quick });
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      out.failed.push({ name: suite.name, error });
      out.suites[suite.name] = { failed: true, error };
      o.log(`  FAILED: ${error.split('\n')[0]!.slice(0, 300)} (the other suites still run)`);
    } finally {
      fs.rmSync(workDir, { recursive: true, force: true });
    }
  }
  return out;
}
