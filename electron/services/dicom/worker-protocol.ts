// Messages between the DICOM service and its worker threads.
import type { ErrorCode } from '../../contract';
import type { DecodedFrame } from './decode';
import type { DicomMeta } from './parse';
import type { PackedBlob } from '../blobs';
import type { FileOutcome } from './process';
import type { UploadTarget } from './reconcile';

export type ToWorker =
  | { id: number; kind: 'file'; path: string }
  | { id: number; kind: 'bytes'; bytes: Uint8Array }
  | { id: number; kind: 'upload'; bytes: Uint8Array; target: UploadTarget; index: number }
  | { id: number; kind: 'frame'; hash: string; packed: PackedBlob | null; frame: number };

export type FromWorker =
  | { id: 0; kind: 'ready' }
  /** The worker has run its warm-up (warm-up.ts): `rounds` files' worth, fewer when real work stopped it. */
  | { id: 0; kind: 'warm'; rounds: number }
  | { id: number; kind: 'outcome'; outcome: FileOutcome }
  /** Several import files answered at once (the worker had more files waiting): one message, not one each. */
  | { id: 0; kind: 'outcomes'; outcomes: { id: number; outcome: FileOutcome }[] }
  | { id: number; kind: 'frame'; frame: DecodedFrame; meta: DicomMeta }
  | { id: number; kind: 'error'; code: ErrorCode; message: string; detail: string };
