// Research workspace: data sets, de-identification, the model registry, scoring runs, metrics
// and comparison reports (the public surface of services/research).
export { createResearchService } from './service';
export type { ResearchService, ResearchServiceOptions } from './service';
export type { Actor } from './registry';
export { comparisonText, verdicts, runLabel } from './compare';
export { multiComparisonText, multiLabel } from './compare-many';
export { computeMetrics, mcnemar, bootstrapAuc, rocCurve, calibration, dice, fmt } from './metrics';
export type { ScoredItem, RunMetrics } from './metrics';
export { deidentifyPart10, newDeidSecret, DEID_METHOD } from './deid';
export { comparisonHtml } from './report-html';
export { walkFiles } from './folder-walk';
export type { WalkedFile } from './folder-walk';
