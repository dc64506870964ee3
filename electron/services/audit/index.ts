// The tamper-evident audit log (hash chain over an append-only table).
export { createAuditLog, rowHash, GENESIS_HASH } from './audit-log';
export type { AuditLog, AuditEntry, AuditRow, AuditFilter, AuditOutcome, VerifyResult } from './audit-log';
export { auditLabels } from './labels';
