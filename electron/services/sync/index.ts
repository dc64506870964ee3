// Sync with the hospital server over DICOMweb: pull (QIDO/WADO-RS), the durable outbox (STOW-RS),
// the SEG builder, and the scheduler the composition root starts and stops.
export { createSyncService, SYSTEM_ACTOR } from './sync-service';
export type { SyncService, SyncServiceOptions, SyncActor } from './sync-service';
export { enqueueOutbox, backoffDelay, DEFAULT_BACKOFF } from './outbox';
export type { OutboxEntry, BackoffPolicy, PushOutcome } from './outbox';
export { dicomServiceImporter } from './pull';
export type { SyncImporter, ImportStatus, DicomImportPath, ArrivedStudy } from './pull';
export { createDicomWebClient, tagString } from './dicomweb-client';
export type { DicomWebClient, ServerConnection, DicomJson } from './dicomweb-client';
export { createSecretStore, memorySecretStore, secretFor, originOf, SYNC_SECRET_NAME } from './secrets';
export type { SecretStore, BoundSecret } from './secrets';
export { buildSegmentation, packBits, unpackBits, SEG_SOP_CLASS_UID } from './seg';
export type { SegInput, SegSourceImage, SegSourceStudy } from './seg';
export { readPart10, newUid } from '../dicom-objects';
export { dicomUids } from './dicom-uids';
