// The update package a site sends: one ZIP holding weights.npz (the trained head, np.savez
// layout), manifest.json (what was trained on what, counts and settings only) and manifest.sig
// (the site's Ed25519 signature of the manifest bytes). The manifest schema is closed: every field
// is a number, a class name, or a short identifier of a model, site or setting; no free text, so
// no image name, path, patient or study identifier has anywhere to go.
import crypto from 'node:crypto';
import { unzipSync, zipSync } from 'fflate';
import { z } from 'zod';
import { WorkstationError } from '../../contract';
import type { HeadWeights } from './model-head';
import { decodeNpz, encodeNpz } from './npz';

export const PACKAGE_FORMAT = 'tumorpredict-federated-update/1';
export const MAX_PACKAGE_BYTES = 4 * 1024 * 1024;
export const PACKAGE_FILES = ['manifest.json', 'weights.npz', 'manifest.sig'] as const;

const ident = z.string().regex(/^[A-Za-z0-9._+-]{1,80}$/, 'an identifier of letters, digits and . _ + -');
export const siteIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{1,39}$/, 'a site id of 2-40 lower-case letters, digits and dashes');
const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const className = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/);
const count = z.number().int().min(0).max(100_000_000);
const real = z.number().finite();

export const modelRefSchema = z.object({ modelId: ident, version: ident, cardSha256: hex64, headSha256: hex64 }).strict();
export type ModelRef = z.infer<typeof modelRefSchema>;

export const trainingSettingsSchema = z
  .object({
    optimizer: z.enum(['adam', 'sgd']),
    learningRate: z.number().positive().max(10),
    momentum: z.number().min(0).max(1),
    epochs: z.number().int().min(1).max(1000),
    batchSize: z.number().int().min(1).max(100_000),
    weightDecay: z.number().min(0).max(10),
    seed: z.number().int().min(0).max(2 ** 32 - 1),
    fedproxMu: z.number().min(0).max(100),
    frozenClasses: z.array(className).max(64),
    steps: count,
  })
  .strict();

export const privacySchema = z
  .object({
    mechanism: z.literal('dp-sgd'),
    accountant: z.literal('rdp-sampled-gaussian'),
    clipNorm: z.number().positive().max(1000),
    noiseMultiplier: z.number().min(0).max(1000),
    delta: z.number().positive().lt(1),
    sampleRate: z.number().positive().max(1),
    steps: count,
    /** Epsilon of this round's training alone, and of every round of this site so far (RDP composed). */
    epsilonRound: z.number().min(0),
    epsilonTotal: z.number().min(0),
  })
  .strict();
export type PackagePrivacy = z.infer<typeof privacySchema>;

const metricSchema = z.object({ loss: real, accuracy: z.number().min(0).max(1) }).strict();

export const manifestSchema = z
  .object({
    format: z.literal(PACKAGE_FORMAT),
    round: z.number().int().min(1).max(1_000_000),
    site: siteIdSchema,
    /** sha256 of the site's raw Ed25519 public key. */
    siteKey: hex64,
    parent: modelRefSchema,
    head: z.object({ classes: z.array(className).min(2).max(64), dim: z.number().int().min(1).max(1_000_000) }).strict(),
    samples: count,
    classCounts: z.record(className, count),
    metrics: z.object({ before: metricSchema, after: metricSchema, history: z.array(z.object({ epoch: count, loss: real, accuracy: z.number().min(0).max(1) }).strict()).max(1000) }).strict(),
    training: trainingSettingsSchema,
    privacy: privacySchema.nullable(),
    weightsSha256: hex64,
    /** When the package was made (ISO date-time, seconds). */
    createdAt: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
    software: ident,
  })
  .strict();
export type Manifest = z.infer<typeof manifestSchema>;

export interface SitePrivateKey {
  /** PKCS#8 PEM of the Ed25519 private key. */
  privateKeyPem: string;
}

export function sha256Hex(b: Uint8Array | string): string {
  return crypto.createHash('sha256').update(b).digest('hex');
}

/** The 32 raw bytes of an Ed25519 public key (the end of its SPKI encoding), base64. */
export function rawPublicKey(key: crypto.KeyObject): string {
  const der = key.export({ type: 'spki', format: 'der' });
  return der.subarray(der.length - 32).toString('base64');
}

export function publicKeyFromRaw(raw: string): crypto.KeyObject {
  const bytes = Buffer.from(raw, 'base64');
  if (bytes.length !== 32) throw new WorkstationError('INVALID_INPUT', 'A site public key is 32 bytes of Ed25519 key in base64.');
  // SPKI prefix for Ed25519 (RFC 8410): SEQUENCE { SEQUENCE { OID 1.3.101.112 } BIT STRING }.
  const prefix = Buffer.from('302a300506032b6570032100', 'hex');
  return crypto.createPublicKey({ key: Buffer.concat([prefix, bytes]), format: 'der', type: 'spki' });
}

export function keyFingerprint(rawBase64: string): string {
  return sha256Hex(Buffer.from(rawBase64, 'base64'));
}

export function newSiteKey(): { privateKeyPem: string; publicKey: string } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  return { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKey: rawPublicKey(publicKey) };
}

export function headArrays(h: HeadWeights): Uint8Array {
  return encodeNpz({ weight: { shape: [h.classes, h.dim], data: h.weight }, bias: { shape: [h.classes], data: h.bias } });
}

export function headFromNpz(bytes: Uint8Array, classes: number, dim: number): HeadWeights {
  const a = decodeNpz(bytes);
  const names = Object.keys(a).sort();
  if (names.join(',') !== 'bias,weight') throw new WorkstationError('INVALID_INPUT', `The weights file holds the arrays ${names.join(', ') || 'none'}; a head update holds exactly "weight" and "bias".`);
  const w = a.weight!;
  const b = a.bias!;
  if (w.shape.length !== 2 || w.shape[0] !== classes || w.shape[1] !== dim) throw new WorkstationError('INVALID_INPUT', `The head's weight array has the shape [${w.shape.join(', ')}]; the global model's is [${classes}, ${dim}].`);
  if (b.shape.length !== 1 || b.shape[0] !== classes) throw new WorkstationError('INVALID_INPUT', `The head's bias array has the shape [${b.shape.join(', ')}]; the global model's is [${classes}].`);
  return { classes, dim, weight: w.data, bias: b.data };
}

/** The canonical sha256 of a head: of its npz bytes (deterministic). */
export function headSha256(h: HeadWeights): string {
  return sha256Hex(headArrays(h));
}

export interface BuiltPackage {
  bytes: Uint8Array;
  sha256: string;
  manifest: Manifest;
}

/** Builds and signs a package. The manifest passes its closed schema first: nothing else can go in. */
export function buildPackage(manifest: Omit<Manifest, 'format' | 'weightsSha256'>, weights: HeadWeights, key: SitePrivateKey): BuiltPackage {
  const npz = headArrays(weights);
  const full = manifestSchema.parse({ format: PACKAGE_FORMAT, ...manifest, weightsSha256: sha256Hex(npz) });
  const manifestBytes = Buffer.from(JSON.stringify(full, null, 1), 'utf8');
  const sig = crypto.sign(null, manifestBytes, crypto.createPrivateKey(key.privateKeyPem)).toString('base64');
  const bytes = zipSync(
    { 'manifest.json': [manifestBytes, { level: 6 }], 'weights.npz': [npz, { level: 0 }], 'manifest.sig': [Buffer.from(sig + '\n'), { level: 0 }] },
    { mtime: new Date('1980-01-01T00:00:00Z') },
  );
  return { bytes, sha256: sha256Hex(bytes), manifest: full };
}

export interface OpenedPackage {
  manifest: Manifest;
  manifestBytes: Uint8Array;
  signature: Buffer;
  weightsBytes: Uint8Array;
  sha256: string;
}

function refusal(reason: string, code: string, cause?: unknown): WorkstationError {
  return new WorkstationError('INVALID_INPUT', reason, { details: { refusal: code }, ...(cause ? { cause } : {}) });
}

/** Unpacks and schema-checks a package; the signature and the rest are checked by the coordinator. */
export function openPackage(bytes: Uint8Array): OpenedPackage {
  if (bytes.length > MAX_PACKAGE_BYTES) throw refusal(`The package is ${bytes.length} bytes; an update package is at most ${MAX_PACKAGE_BYTES}.`, 'too-large');
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, { filter: (f) => f.originalSize <= MAX_PACKAGE_BYTES });
  } catch (err) {
    throw refusal('The file is not an update package (not a readable ZIP).', 'not-a-package', err);
  }
  const names = Object.keys(files).sort();
  const want = [...PACKAGE_FILES].sort();
  if (names.join('|') !== want.join('|')) throw refusal(`An update package holds exactly ${PACKAGE_FILES.join(', ')}; this one holds ${names.map((n) => JSON.stringify(n.slice(0, 60))).join(', ')}.`, 'wrong-files');
  const manifestBytes = files['manifest.json']!;
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(manifestBytes).toString('utf8'));
  } catch (err) {
    throw refusal('The package manifest is not valid JSON.', 'bad-manifest', err);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw refusal(`The package manifest does not follow the update format (${first ? `${first.path.join('.') || 'manifest'}: ${first.message}` : 'invalid'}).`, 'bad-manifest');
  }
  const signature = Buffer.from(Buffer.from(files['manifest.sig']!).toString('utf8').trim(), 'base64');
  const weightsBytes = files['weights.npz']!;
  if (sha256Hex(weightsBytes) !== parsed.data.weightsSha256) throw refusal('The weights in the package do not match the sha256 its manifest gives (the file was changed after signing).', 'weights-hash');
  return { manifest: parsed.data, manifestBytes, signature, weightsBytes, sha256: sha256Hex(bytes) };
}

export function signatureValid(p: OpenedPackage, publicKeyRaw: string): boolean {
  try {
    return crypto.verify(null, p.manifestBytes, publicKeyFromRaw(publicKeyRaw), p.signature);
  } catch {
    return false;
  }
}
