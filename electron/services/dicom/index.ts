// DICOM import, parsing, decoding and the study index (the public surface of services/dicom).
export { createDicomService, toViewerFrame, readDicomdir } from './service';
export type { DicomService, DicomServiceOptions, ImportOptions } from './service';
export { DEFAULT_LIMITS } from './limits';
export type { DicomLimits } from './limits';
export { checkDicomStructure, parseDicomFile, SUPPORTED_TRANSFER_SYNTAXES } from './parse';
export type { DicomMeta, ParsedDicom } from './parse';
export { decodeFrame } from './decode';
export type { DecodedFrame } from './decode';
export { DicomRefusal } from './refusal';
export { displayName } from './index-db';
export type { ListQuery } from './index-db';
export { defaultDemoFolder } from './demo';
export { pnFromDisplayName, uploadUid } from './reconcile';
export type { UploadOrigin, UploadTarget } from './reconcile';
export { imageGeometry } from './geometry';
export type { ImageGeometry, FrameGeometry } from './geometry';
