// Federated learning channels: this workstation as a site (identity, enrolment, local head
// training with progress and cancel, update packages exported or uploaded, pulling the global
// model, evaluating a candidate) and as the coordinator (setup, sites, rounds, import of package
// files, aggregation, the validation gate, approval, rollback) and the overview the page shows.
import { z } from 'zod';
import { channel } from './channel';

const id = z.string().min(1).max(80);
const siteId = z.string().regex(/^[a-z0-9][a-z0-9-]{1,39}$/, 'a site id of 2-40 lower-case letters, digits and dashes');
const nullableNumber = z.number().nullable();

export const AGGREGATION_RULE_NAMES = ['fedavg', 'median', 'trimmed-mean'] as const;
export const ROUND_STATES = ['open', 'evaluating', 'candidate', 'gate-failed', 'approved', 'rejected', 'failed', 'rolled-back'] as const;

export const dpSettingsSchema = z
  .object({
    clipNorm: z.number().positive().max(100),
    noiseMultiplier: z.number().min(0.3).max(100),
    delta: z.number().positive().max(0.01),
  })
  .strict();

export const localTrainingSchema = z
  .object({
    optimizer: z.enum(['adam', 'sgd']).optional(),
    learningRate: z.number().positive().max(1).optional(),
    epochs: z.number().int().min(1).max(200).optional(),
    batchSize: z.number().int().min(4).max(4096).optional(),
    seed: z.number().int().min(0).max(2 ** 31).optional(),
    fedproxMu: z.number().min(0).max(10).optional(),
    dp: dpSettingsSchema.nullable().optional(),
  })
  .strict();
export type LocalTrainingSettings = z.infer<typeof localTrainingSchema>;

export const gateSettingsSchema = z
  .object({
    overallMargin: z.number().min(0).max(1),
    classMargin: z.number().min(0).max(1),
    minClassSupport: z.number().int().min(1).max(10_000),
    siteMargin: z.number().min(0).max(1),
    /** 0 turns the paired test's veto off (it is still reported). */
    alpha: z.number().min(0).max(0.2),
  })
  .strict();

export const roundSettingsSchema = z
  .object({
    rule: z.enum(AGGREGATION_RULE_NAMES),
    /** Accepted packages at which the round closes and aggregates on its own. */
    quorum: z.number().int().min(1).max(1000),
    /** Minutes after opening at which the round closes with what it has (null: no deadline). */
    deadlineMinutes: z.number().int().min(1).max(60 * 24 * 60).nullable(),
    /** FedAvg: the largest share of the merge one site may have. */
    maxShare: z.number().min(0.05).max(1),
    /** Trimmed mean: fraction cut at each end per coordinate. */
    trim: z.number().min(0).max(0.45),
    /** Refuse a package whose update (L2 norm of new head - global head) is above this many times the global head's own norm. */
    maxRelativeUpdate: z.number().positive().max(1000),
    /** Outvote an update whose norm is this many times the round's median. */
    normRatio: z.number().min(1.5).max(1000),
    /** Outvote an update that, applied alone, scores this much below the global on the reference set. */
    referenceMargin: z.number().min(0).max(1),
    minSamples: z.number().int().min(1).max(1_000_000),
    /** Sites score the candidate on their own held-out images and return confusion matrices. */
    siteEvaluation: z.boolean(),
    gate: gateSettingsSchema,
    training: z.object({ epochs: z.number().int().min(1).max(200).optional(), learningRate: z.number().positive().max(1).optional(), fedproxMu: z.number().min(0).max(10).optional() }).strict(),
  })
  .strict();
export type RoundSettings = z.infer<typeof roundSettingsSchema>;

export const DEFAULT_ROUND_SETTINGS: RoundSettings = {
  rule: 'fedavg',
  quorum: 2,
  deadlineMinutes: null,
  maxShare: 0.5,
  trim: 0.2,
  maxRelativeUpdate: 2,
  normRatio: 5,
  referenceMargin: 0.1,
  minSamples: 20,
  siteEvaluation: false,
  gate: { overallMargin: 0.01, classMargin: 0.03, minClassSupport: 10, siteMargin: 0.03, alpha: 0.05 },
  training: {},
};

const modelRef = z.object({ modelId: z.string(), version: z.string(), cardSha256: z.string(), headSha256: z.string() });

const confusion = z.object({ rows: z.array(z.string()), cols: z.array(z.string()), matrix: z.array(z.array(z.number().int())) });
const headScore = z.object({ accuracy: nullableNumber, recall: z.record(z.string(), nullableNumber), confusion });

export const gateResultSchema = z.object({
  passed: z.boolean(),
  settings: gateSettingsSchema,
  n: z.number().int(),
  current: headScore,
  candidate: headScore,
  mcnemar: z.object({ b: z.number().int(), c: z.number().int(), pValue: z.number(), method: z.string() }),
  accuracyDiff: z.object({ value: z.number(), lo: z.number(), hi: z.number() }),
  sites: z.array(z.object({ site: z.string(), current: nullableNumber, candidate: nullableNumber, n: z.number().int() })),
  checks: z.array(z.object({ name: z.string(), passed: z.boolean(), detail: z.string() })),
});
export type GateResultDto = z.infer<typeof gateResultSchema>;

export const roundSummarySchema = z.object({
  round: z.number().int(),
  state: z.enum(ROUND_STATES),
  parent: modelRef,
  settings: roundSettingsSchema,
  deadline: z.string().nullable(),
  openedAt: z.string(),
  openedBy: z.string(),
  accepted: z.number().int(),
  refused: z.number().int(),
  /** Sites whose packages were merged, with their sample counts and merge shares. */
  sites: z.array(z.object({ site: z.string(), samples: z.number().int(), share: nullableNumber, status: z.string() })),
  outvoted: z.array(z.object({ site: z.string(), reason: z.string() })),
  gate: gateResultSchema.nullable(),
  model: z.object({ id: z.string(), version: z.string(), cardSha256: z.string() }).nullable(),
  decidedAt: z.string().nullable(),
  decidedBy: z.string().nullable(),
  note: z.string().nullable(),
});
export type RoundSummary = z.infer<typeof roundSummarySchema>;

export const receivedPackageSchema = z.object({
  id: z.string(),
  round: z.number().int().nullable(),
  site: z.string().nullable(),
  sha256: z.string(),
  status: z.enum(['accepted', 'refused', 'outvoted', 'merged']),
  reason: z.string().nullable(),
  samples: z.number().int().nullable(),
  epsilon: nullableNumber,
  via: z.enum(['https', 'file']),
  receivedAt: z.string(),
});
export type ReceivedPackage = z.infer<typeof receivedPackageSchema>;

export const siteSummarySchema = z.object({
  site: z.string(),
  name: z.string(),
  keyFingerprint: z.string(),
  status: z.enum(['active', 'revoked']),
  registeredAt: z.string(),
  /** Samples in the site's latest accepted package. */
  samples: z.number().int().nullable(),
  /** Epsilon spent over every round (RDP composed), as the coordinator computes it; null: never DP. */
  epsilon: nullableNumber,
  delta: nullableNumber,
  rounds: z.number().int(),
});

export const localPackageSchema = z.object({
  id: z.string(),
  round: z.number().int(),
  datasetId: z.string(),
  parentModel: z.string(),
  sha256: z.string(),
  status: z.enum(['built', 'accepted', 'refused']),
  detail: z.string().nullable(),
  samples: z.number().int(),
  classCounts: z.record(z.string(), z.number().int()),
  before: z.object({ loss: z.number(), accuracy: z.number() }),
  after: z.object({ loss: z.number(), accuracy: z.number() }),
  epsilonRound: nullableNumber,
  epsilonTotal: nullableNumber,
  bytes: z.number().int(),
  trainingMs: z.number(),
  createdAt: z.string(),
  createdBy: z.string(),
});
export type LocalPackage = z.infer<typeof localPackageSchema>;

export const globalModelSchema = z.object({
  modelId: z.string(),
  version: z.string(),
  cardSha256: z.string(),
  headSha256: z.string(),
  round: z.number().int(),
  activeClinically: z.boolean(),
  /** From the card's federated block: parent, sites, rule, gate (null for the original model). */
  federated: z.record(z.string(), z.unknown()).nullable(),
  metrics: z.record(z.string(), z.unknown()).nullable(),
});
export type GlobalModel = z.infer<typeof globalModelSchema>;

export const federationOverviewSchema = z.object({
  site: z
    .object({ siteId: z.string(), keyFingerprint: z.string(), publicKey: z.string(), coordinatorUrl: z.string().nullable(), enrolled: z.boolean(), secretsIn: z.string(), epsilon: nullableNumber, delta: nullableNumber })
    .nullable(),
  coordinator: z
    .object({ referenceDataset: z.string().nullable(), referenceItems: z.number().int().nullable(), publicUrl: z.string().nullable(), certificateFingerprint: z.string().nullable(), global: globalModelSchema })
    .nullable(),
  rounds: z.array(roundSummarySchema),
  sites: z.array(siteSummarySchema),
  packages: z.array(receivedPackageSchema),
  outbox: z.array(localPackageSchema),
});
export type FederationOverview = z.infer<typeof federationOverviewSchema>;

export const trainingProgressSchema = z.object({
  jobId: z.string(),
  phase: z.enum(['features', 'training', 'packaging', 'done', 'cancelled', 'failed']),
  done: z.number().int(),
  total: z.number().int(),
  loss: nullableNumber,
  accuracy: nullableNumber,
  message: z.string().nullable(),
});
export type TrainingProgress = z.infer<typeof trainingProgressSchema>;
export const FEDERATION_PROGRESS_EVENT = 'federation.progress';

const bytesBase64 = z.string().min(4).max(6_000_000);

export const federationChannels = {
  'federation.overview': channel({
    summary: 'Federated learning on this workstation: its site identity, the rounds it coordinates, sites, packages (refused ones with reasons), epsilon per site',
    request: z.object({}).strict(),
    response: federationOverviewSchema,
  }),
  'federation.globalModel': channel({
    summary: 'The current global model of the federation this workstation coordinates (or was last pulled from): version, hashes, parent, round, gate',
    request: z.object({}).strict(),
    response: globalModelSchema,
  }),
  'federation.createIdentity': channel({
    summary: 'Make this workstation a site: a site id and an Ed25519 key pair (the private key stays in the keychain)',
    request: z.object({ siteId }).strict(),
    response: federationOverviewSchema.shape.site.unwrap(),
  }),
  'federation.enrol': channel({
    summary: "Enrol this site with a coordinator from the enrolment text its admin gave (URL, pinned certificate, this site's token)",
    request: z.object({ enrolment: z.string().min(10).max(20_000) }).strict(),
    response: federationOverviewSchema.shape.site.unwrap(),
  }),
  'federation.train': channel({
    summary: 'Train the global head on a local data set (features once per image, cached) and build a signed update package (progress as federation.progress events)',
    request: z.object({ datasetId: id, round: z.number().int().min(1).optional(), settings: localTrainingSchema.optional() }).strict(),
    response: localPackageSchema,
  }),
  'federation.cancelTraining': channel({
    summary: 'Stop a local training; no package is made',
    request: z.object({ jobId: id }).strict(),
    response: z.object({ cancelled: z.boolean() }),
  }),
  'federation.exportPackage': channel({
    summary: 'An update package as a file to hand over (base64 of the zip)',
    request: z.object({ id }).strict(),
    response: z.object({ filename: z.string(), base64: z.string(), sha256: z.string() }),
  }),
  'federation.uploadPackage': channel({
    summary: 'Upload an update package to the coordinator over HTTPS ("upload weights"); the answer says accepted or why refused',
    request: z.object({ id }).strict(),
    response: localPackageSchema,
  }),
  'federation.pullGlobal': channel({
    summary: "Download the coordinator's current global model, rebuild it from its parent here, check every hash, and install it in the registry",
    request: z.object({}).strict(),
    response: globalModelSchema,
  }),
  'federation.evaluateCandidate': channel({
    summary: "Score the round's candidate on this site's held-out images and send the coordinator the confusion matrices (nothing else)",
    request: z.object({}).strict(),
    response: z.object({ round: z.number().int(), current: nullableNumber, candidate: nullableNumber, n: z.number().int() }),
  }),
  'federation.setup': channel({
    summary: 'Coordinate a federation from this workstation: the reference data set the gate scores on, the address sites use, the HTTPS certificate',
    request: z.object({ referenceDatasetId: id, publicUrl: z.string().url().startsWith('https://').max(500).optional(), globalModelId: id.optional() }).strict(),
    response: federationOverviewSchema.shape.coordinator.unwrap(),
  }),
  'federation.registerSite': channel({
    summary: "Register a site's public key; returns its enrolment text (with its token, shown once)",
    request: z.object({ siteId, name: z.string().min(1).max(120), publicKey: z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'a base64 Ed25519 public key (32 bytes)') }).strict(),
    response: z.object({ site: siteSummarySchema, enrolment: z.string() }),
  }),
  'federation.revokeSite': channel({
    summary: 'Refuse every further package and request from a site',
    request: z.object({ siteId }).strict(),
    response: siteSummarySchema,
  }),
  'federation.openRound': channel({
    summary: 'Open a round on the current global model with an aggregation rule, quorum, deadline and gate margins',
    request: z.object({ settings: roundSettingsSchema.partial().optional() }).strict(),
    response: roundSummarySchema,
  }),
  'federation.importPackage': channel({
    summary: 'Receive an update package handed over as a file; verified like one sent over HTTPS',
    request: z.object({ base64: bytesBase64 }).strict(),
    response: receivedPackageSchema,
  }),
  'federation.aggregate': channel({
    summary: "Close the round and merge its accepted packages now (\"trigger aggregation\"), then run the validation gate",
    request: z.object({ round: z.number().int().min(1) }).strict(),
    response: roundSummarySchema,
  }),
  'federation.approve': channel({
    summary: 'Approve a candidate that passed the gate: it enters the model registry as a new version and becomes the global model (optionally active for clinical use)',
    request: z.object({ round: z.number().int().min(1), activate: z.boolean().optional() }).strict(),
    response: roundSummarySchema,
  }),
  'federation.reject': channel({
    summary: "Reject a round's candidate; the global model stays as it is",
    request: z.object({ round: z.number().int().min(1), reason: z.string().min(1).max(500) }).strict(),
    response: roundSummarySchema,
  }),
  'federation.rollback': channel({
    summary: "Roll an approved round back: the global model (and the clinical model, if it was this one) returns to the round's parent",
    request: z.object({ round: z.number().int().min(1) }).strict(),
    response: roundSummarySchema,
  }),
};
