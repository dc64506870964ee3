// dcmjs-dimse (CommonJS) loaded once, with its own log quietened: our logger reports what matters.
import { createRequire } from 'node:module';
import type * as DcmjsDimse from 'dcmjs-dimse';

export type DimseLibrary = typeof DcmjsDimse;
export const dimse = createRequire(import.meta.url)('dcmjs-dimse') as DimseLibrary;
dimse.log.setLevel('silent');

export const VERIFICATION_SOP_CLASS = '1.2.840.10008.1.1';
/** Storage SOP classes live under this root (PS3.4 B.5). */
export const STORAGE_ROOT = '1.2.840.10008.5.1.4.1.1.';
