// The API contract: channel names, zod schemas, roles, the permission matrix and error codes.
// It imports nothing of ours (lint-enforced), so the renderer, services and transports share it.
export * from './errors';
export * from './roles';
export * from './channel';
export * from './channels';
export * from './permissions';
export * from './envelope';
export * from './system';
export * from './auth';
export * from './users';
export * from './audit';
export * from './settings';
export * from './inference';
export * from './sync';
export * from './dimse';
export * from './dicom';
export * from './ai';
export * from './reports';
export * from './research';
export * from './patients';
export * from './messages';
export * from './measurements';
export * from './tracking';
export * from './federation';
export * from './uploads';
export * from './notifications';
export * from './care';
