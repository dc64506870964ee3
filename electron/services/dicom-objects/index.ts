// DICOM objects the workstation writes (SR, Encapsulated PDF, SEG): Part 10 encoding with dcmjs
// and UIDs, shared by the reports and sync services.
export { EXPLICIT_VR_LITTLE_ENDIAN, dicomDateTime, newUid, readPart10, uidFor, writePart10 } from './part10';
export type { Dataset, NaturalDataset } from './part10';
