// Audit checkpoints: the chain's head (last row id and hash, row count, time) signed with an
// Ed25519 key derived from the audit MAC key, written outside the database (a file the admin
// keeps, or the daily folder), so a history rewritten after it is found by
// `audit verify --checkpoint FILE` even by someone who holds every key of the workstation later.
import crypto from 'node:crypto';

export const CHECKPOINT_FORMAT = 'tumorpredict-audit-checkpoint/1';

export interface AuditCheckpoint {
  format: typeof CHECKPOINT_FORMAT;
  lastId: number;
  headHash: string;
  rows: number;
  at: string;
  keyedFrom: number;
  /** Raw Ed25519 public key, base64: anyone can check the signature with it. */
  publicKey: string;
  signature: string;
}

// PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function signingKeys(auditKey: Buffer): { privateKey: crypto.KeyObject; publicKeyRaw: Buffer } {
  const seed = crypto.createHmac('sha256', auditKey).update('tumorpredict-audit-checkpoint-signing').digest();
  const privateKey = crypto.createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const spki = crypto.createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return { privateKey, publicKeyRaw: spki.subarray(spki.length - 32) };
}

const payload = (c: Omit<AuditCheckpoint, 'publicKey' | 'signature'>): Buffer => Buffer.from(JSON.stringify([c.format, c.lastId, c.headHash, c.rows, c.at, c.keyedFrom]), 'utf8');

export function signCheckpoint(auditKey: Buffer, head: { lastId: number; headHash: string; rows: number; keyedFrom: number; at: string }): AuditCheckpoint {
  const { privateKey, publicKeyRaw } = signingKeys(auditKey);
  const body = { format: CHECKPOINT_FORMAT, ...head } as const;
  return { ...body, publicKey: publicKeyRaw.toString('base64'), signature: crypto.sign(null, payload(body), privateKey).toString('base64') };
}

/** Null when the checkpoint is this workstation's and its signature holds; otherwise why not. */
export function checkCheckpointSignature(auditKey: Buffer, c: AuditCheckpoint): string | null {
  if (c?.format !== CHECKPOINT_FORMAT) return 'the file is not an audit checkpoint of this workstation';
  const { publicKeyRaw } = signingKeys(auditKey);
  if (c.publicKey !== publicKeyRaw.toString('base64')) return 'the checkpoint was signed by another key (another workstation, or not by this audit key)';
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), publicKeyRaw]);
  const ok = crypto.verify(null, payload(c), crypto.createPublicKey({ key: spki, format: 'der', type: 'spki' }), Buffer.from(String(c.signature), 'base64'));
  return ok ? null : 'the checkpoint was changed after it was signed';
}

export function parseCheckpoint(text: string): AuditCheckpoint {
  return JSON.parse(text) as AuditCheckpoint;
}
