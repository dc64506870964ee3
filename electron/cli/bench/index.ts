// The benchmark suites, in the order `tumorpredict bench` runs them. Add a suite here.
import type { BenchSuite } from './types';

export const BENCH_SUITES: BenchSuite[] = [];
