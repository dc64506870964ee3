// The tamper-evident audit log (MAC chain over an append-only table, signed checkpoints outside it).
export { createAuditLog, rowHash, rowMac, GENESIS_HASH, KEYED_PREFIX } from './audit-log';
export type { AuditLog, AuditEntry, AuditRow, AuditFilter, AuditOutcome, VerifyResult } from './audit-log';
export { auditLabels } from './labels';
export { parseCheckpoint, signCheckpoint, checkCheckpointSignature, CHECKPOINT_FORMAT } from './checkpoint';
export type { AuditCheckpoint } from './checkpoint';
export { createCheckpointSchedule } from './checkpoint-schedule';
export type { CheckpointSchedule } from './checkpoint-schedule';
