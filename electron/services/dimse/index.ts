// DIMSE (dcmjs-dimse): the C-STORE SCP that scanners and PACS push to, and the PACS as SCU
// (C-ECHO, C-FIND, C-MOVE).
export { createDimseService } from './dimse-service';
export type { DimseService, DimseServiceOptions, DimseActor } from './dimse-service';
export { wrapPart10 } from './part10';
export type { StoreImporter } from './store-scp';
export { createHospitalBrowser } from './hospital-browser';
export type { HospitalBrowser, HospitalBrowserOptions, RetrieveOptions } from './hospital-browser';
