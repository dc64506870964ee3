// Stored AI results (per image, per series, per study run) and the study runs that produce them.
export { createAiResultsService, frameToRawImage, studyFinding } from './ai-results-service';
export type { AiResultsService, AiResultsOptions, RunOptions, StudyImageSource } from './ai-results-service';
export { createBackgroundScoring, imagesToScore, unscorableReason, BACKGROUND_ACTOR } from './background';
export type { BackgroundScoring, BackgroundScoringOptions } from './background';
