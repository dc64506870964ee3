// The benchmark suites, in the order `tumorpredict bench` runs them. Add a suite here.
import type { BenchSuite } from './types';
import { dicomBench } from './dicom';
import { storeBench } from './store';
import { inferenceBench } from './inference';
import { inferenceInt8Bench } from './inference-int8';
import { syncBench } from './sync';
import { aiBackgroundBench } from './ai-background';
import { viewerBench } from './viewer';
import { researchBench } from './research';
import { federationBench } from './federation';

export const BENCH_SUITES: BenchSuite[] = [dicomBench, storeBench, inferenceBench, inferenceInt8Bench, aiBackgroundBench, syncBench, viewerBench, researchBench, federationBench];
