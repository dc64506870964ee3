// The coordinator's HTTPS API between workstations, in the contract's style: paths, zod schemas
// for every body, and errors as { error: { code, message } } with the contract's codes. Sites
// authenticate with their enrolment token (Authorization: Bearer); packages are signed besides.
import { z } from 'zod';
import { ERROR_CODES } from '../../contract';
import { modelRefSchema, siteIdSchema } from './package';

export const API = {
  status: '/v1/status',
  packages: '/v1/packages',
  candidate: (round: number) => `/v1/rounds/${round}/candidate`,
  evaluation: (round: number) => `/v1/rounds/${round}/evaluation`,
  global: '/v1/global',
} as const;

export const ENROLMENT_FORMAT = 'tumorpredict-federation-enrolment/1';

/** What a coordinator admin hands a site (once): where to connect, whom to trust, and its token. */
export const enrolmentSchema = z
  .object({
    format: z.literal(ENROLMENT_FORMAT),
    coordinatorUrl: z.string().url().startsWith('https://').max(500),
    certificate: z.string().startsWith('-----BEGIN CERTIFICATE-----').max(10_000),
    siteId: siteIdSchema,
    token: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  })
  .strict();
export type Enrolment = z.infer<typeof enrolmentSchema>;

const trainingHints = z
  .object({
    epochs: z.number().int().min(1).max(1000).optional(),
    learningRate: z.number().positive().max(10).optional(),
    fedproxMu: z.number().min(0).max(100).optional(),
  })
  .strict();

export const roundInfoSchema = z
  .object({
    round: z.number().int().min(1),
    state: z.enum(['open', 'evaluating', 'candidate', 'gate-failed', 'approved', 'rejected', 'failed', 'rolled-back']),
    parent: modelRefSchema,
    deadline: z.string().nullable(),
    quorum: z.number().int().min(1),
    accepted: z.number().int().min(0),
    training: trainingHints,
    siteEvaluation: z.boolean(),
    /** Whether this site has an accepted package in the round already. */
    submitted: z.boolean(),
  })
  .strict();
export type RoundInfo = z.infer<typeof roundInfoSchema>;

export const globalRefSchema = modelRefSchema.extend({ round: z.number().int().min(0) }).strict();

export const statusResponseSchema = z
  .object({
    site: siteIdSchema,
    round: roundInfoSchema.nullable(),
    global: globalRefSchema,
  })
  .strict();
export type StatusResponse = z.infer<typeof statusResponseSchema>;

export const packageResponseSchema = z
  .object({
    packageId: z.string(),
    status: z.enum(['accepted', 'refused']),
    reason: z.string().nullable(),
    /** Machine-readable reason ('signature', 'parent', 'replay', 'norm', ...). */
    refusal: z.string().nullable(),
  })
  .strict();
export type PackageResponse = z.infer<typeof packageResponseSchema>;

export const candidateResponseSchema = z
  .object({ round: z.number().int(), headSha256: z.string(), npz: z.string().max(8_000_000), parent: modelRefSchema })
  .strict();

const confusionSchema = z
  .object({
    rows: z.array(z.string().max(40)).max(64),
    cols: z.array(z.string().max(40)).max(64),
    matrix: z.array(z.array(z.number().int().min(0).max(100_000_000)).max(64)).max(64),
  })
  .strict();
export type Confusion = z.infer<typeof confusionSchema>;

export const evaluationRequestSchema = z.object({ current: confusionSchema, candidate: confusionSchema }).strict();

export const globalResponseSchema = z
  .object({
    global: globalRefSchema,
    /** The version's model-card.json, byte for byte (its sha256 is the global's cardSha256). */
    card: z.string().max(2_000_000),
    /** The head, np.savez layout, base64; its sha256 is the global's headSha256. */
    npz: z.string().max(8_000_000),
  })
  .strict();
export type GlobalResponse = z.infer<typeof globalResponseSchema>;

export const errorBodySchema = z.object({ error: z.object({ code: z.enum(ERROR_CODES), message: z.string() }) });

export const HTTP_STATUS: Record<(typeof ERROR_CODES)[number], number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  INVALID_INPUT: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};
