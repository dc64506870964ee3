// A benchmark suite run by `tumorpredict bench` (npm run bench). Each suite measures its own
// figures and a baseline in the same run, prints them, and returns them for the JSON file.
export interface BenchContext {
  /** Scratch folder for this run, removed afterwards. */
  workDir: string;
  /** Print one human-readable line. */
  log(line: string): void;
  /** Quick mode (`--quick`): fewer iterations, for a smoke check that the bench still runs. */
  quick: boolean;
}

export interface BenchSuite {
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<Record<string, unknown>>;
}
