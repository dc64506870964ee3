// Federated learning (the public surface of services/federated): local head training on frozen
// features, signed update packages, the DP accountant, aggregation, the validation gate, the
// coordinator's rounds and HTTPS service, and the pieces the simulation and the bench reuse.
export { createFederatedService } from './service';
export type { FederatedService } from './service';
export { createFederationSecrets } from './secrets';
export type { FederationSecrets } from './secrets';
export type { Actor, FederationDeps } from './deps';
export { trainHead, evaluateHead, headLogits, updateNorm, DEFAULT_TRAIN_SETTINGS, seeded } from './train-head';
export type { FeatureSet, TrainSettings, TrainResult, DpSettings } from './train-head';
export { extractFeatures, splitByKey, modelBackbone } from './features';
export type { ExtractedFeatures, LabelledItem } from './features';
export { parentHead, writeHeadVersion, rebuildVersion } from './model-version';
export { readOnnxHead, writeOnnxHead, readTfjsHead, writeTfjsHead, backboneHash } from './model-head';
export type { HeadWeights } from './model-head';
export { merge, cappedShares, screenUpdates, AGGREGATION_RULES } from './aggregate';
export type { AggregationRule, SiteUpdate } from './aggregate';
export { runGate, scoreHead, DEFAULT_GATE } from './gate';
export type { GateResult } from './gate';
export { buildPackage, openPackage, headArrays, headFromNpz, headSha256, sha256Hex, newSiteKey } from './package';
export type { Manifest } from './package';
export { computeRdp, epsilonFromRdp, dpSgdEpsilon, DEFAULT_ORDERS } from './rdp';
export { encodeNpz, decodeNpz } from './npz';
export { createCoordinatorClient } from './client';
export type { CoordinatorServer } from './server';
export { sharedItems, splitForSimulation, splitLists, SOURCE_NAMES } from './split';
export type { SimItem, SourceName, SimSplit } from './split';
export { EVAL_FRACTION } from './site';
