// The SCU side: C-ECHO, study-level C-FIND and C-MOVE against the PACS, each in its own
// association. A refused association, a network error or a failure status is a WorkstationError
// naming the step, never a hang: the library's timeouts end a silent peer.
import { WorkstationError } from '../../contract';
import type { DimsePeer, PacsQuery } from '../../contract';
import type { requests, responses } from 'dcmjs-dimse';
import { dimse } from './library';

const STATUS = dimse.constants.Status;
const TIMEOUTS = { connectTimeout: 15_000, associationTimeout: 30_000, pduTimeout: 120_000 };

function describe(peer: DimsePeer): string {
  return `${peer.aeTitle} at ${peer.host}:${peer.port}`;
}

type Client = InstanceType<typeof dimse.Client>;

/** Runs the requests in one association; resolves when it is closed. `onClient` sees the client (to cancel or abort). */
function associate(peer: DimsePeer, callingAe: string, reqs: requests.Request[], onClient?: (client: Client) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const client = new dimse.Client();
    for (const r of reqs) client.addRequest(r);
    onClient?.(client);
    let failure: WorkstationError | null = null;
    client.on('associationRejected', (r: { result: number; source: number; reason: number }) => {
      failure = new WorkstationError('UNAVAILABLE', `The PACS (${describe(peer)}) refused the association (reason ${r?.reason ?? '?'}): check that it knows this workstation's AE title ${callingAe}.`, { details: { step: 'associate' } });
    });
    client.on('networkError', (err: Error) => {
      failure ??= new WorkstationError('UNAVAILABLE', `The PACS (${describe(peer)}) cannot be reached: ${err.message}.`, { details: { step: 'connect' } });
    });
    client.on('closed', () => (failure ? reject(failure) : resolve()));
    try {
      client.send(peer.host, peer.port, callingAe, peer.aeTitle, TIMEOUTS);
    } catch (err) {
      reject(new WorkstationError('UNAVAILABLE', `The PACS (${describe(peer)}) cannot be reached: ${(err as Error).message}.`, { details: { step: 'connect' } }));
    }
  });
}

const statusText = (r: responses.Response): string => `status 0x${r.getStatus().toString(16).padStart(4, '0')}${r.getErrorComment?.() ? ` (${r.getErrorComment()})` : ''}`;

export async function echo(peer: DimsePeer, callingAe: string): Promise<void> {
  const request = new dimse.requests.CEchoRequest();
  let status: number | null = null;
  request.on('response', (r: responses.CEchoResponse) => (status = r.getStatus()));
  await associate(peer, callingAe, [request]);
  if (status !== STATUS.Success) throw new WorkstationError('UNAVAILABLE', `The PACS (${describe(peer)}) did not answer the C-ECHO with success${status === null ? '' : ` (status 0x${(status as number).toString(16)})`}.`, { details: { step: 'echo' } });
}

/** A DICOM date range for a C-FIND key: "A-B", "A-", "-B" or empty. */
function dateRange(from?: string, to?: string): string {
  if (!from && !to) return '';
  return `${from ?? ''}-${to ?? ''}`;
}

/** A naturalized value as text (PN as its alphabetic group; multi-values joined by \). */
function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.map(text).filter(Boolean).join('\\');
  if (typeof v === 'object') return String((v as { Alphabetic?: string }).Alphabetic ?? '');
  return String(v).trim();
}

export interface FoundStudy {
  studyInstanceUid: string;
  patientName: string;
  patientId: string;
  accessionNumber: string;
  studyDate: string;
  studyDescription: string;
  modalities: string[];
  instances: number | null;
}

export async function findStudies(peer: DimsePeer, callingAe: string, q: PacsQuery): Promise<{ studies: FoundStudy[]; truncated: boolean }> {
  const request = dimse.requests.CFindRequest.createStudyFindRequest({
    PatientName: q.patientName ?? '',
    PatientID: q.patientId ?? '',
    AccessionNumber: q.accessionNumber ?? '',
    StudyDate: dateRange(q.dateFrom, q.dateTo),
    ModalitiesInStudy: q.modality ?? '',
  });
  const studies: FoundStudy[] = [];
  let truncated = false;
  let final: responses.CFindResponse | null = null;
  request.on('response', (r: responses.CFindResponse) => {
    if (r.getStatus() === STATUS.Pending && r.hasDataset()) {
      if (studies.length >= q.limit) {
        truncated = true;
        return;
      }
      const e = r.getDataset()!.getElements() as Record<string, unknown>;
      const uid = text(e.StudyInstanceUID);
      if (!uid) return;
      const n = Number(text(e.NumberOfStudyRelatedInstances));
      studies.push({
        studyInstanceUid: uid,
        patientName: text(e.PatientName).replace(/\^+$/, '').replace(/\^/g, ' ').trim(),
        patientId: text(e.PatientID),
        accessionNumber: text(e.AccessionNumber),
        studyDate: text(e.StudyDate),
        studyDescription: text(e.StudyDescription),
        modalities: text(e.ModalitiesInStudy).split('\\').filter(Boolean),
        instances: Number.isFinite(n) && text(e.NumberOfStudyRelatedInstances) !== '' ? n : null,
      });
    } else if (r.getStatus() !== STATUS.Pending) final = r;
  });
  await associate(peer, callingAe, [request]);
  const done = final as responses.CFindResponse | null;
  if (!done || done.getStatus() !== STATUS.Success) {
    throw new WorkstationError('UNAVAILABLE', `The PACS (${describe(peer)}) did not complete the search (${done ? statusText(done) : 'no final answer'}).`, { details: { step: 'find' } });
  }
  return { studies, truncated };
}

export interface MoveProgress {
  remaining: number;
  completed: number;
  failed: number;
  warnings: number;
}

/** How long a PACS has to answer a C-CANCEL before the association is aborted. */
export const CANCEL_GRACE_MS = 10_000;

/**
 * C-MOVE of one study to `destinationAe` (this workstation's SCP). Resolves with the final counts.
 * An abort of `signal` sends C-CANCEL; a PACS that does not end the move within CANCEL_GRACE_MS
 * gets an A-ABORT. Either way it resolves with `cancelled` and the counts last reported.
 */
export async function moveStudy(
  peer: DimsePeer,
  callingAe: string,
  destinationAe: string,
  studyInstanceUid: string,
  onProgress?: (p: MoveProgress) => void,
  signal?: AbortSignal,
): Promise<MoveProgress & { status: number; cancelled: boolean }> {
  signal?.throwIfAborted();
  const request = dimse.requests.CMoveRequest.createStudyMoveRequest(destinationAe, studyInstanceUid);
  let last: (MoveProgress & { status: number }) | null = null;
  let final: responses.CMoveResponse | null = null;
  request.on('response', (r: responses.CMoveResponse) => {
    const p = { remaining: r.getRemaining() ?? 0, completed: r.getCompleted() ?? 0, failed: r.getFailures() ?? 0, warnings: r.getWarnings() ?? 0, status: r.getStatus() };
    last = { ...(last ?? p), ...Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) } as MoveProgress & { status: number };
    if (r.getStatus() === STATUS.Pending) onProgress?.(last);
    else final = r;
  });
  let grace: NodeJS.Timeout | null = null;
  let onAbort: (() => void) | null = null;
  try {
    await associate(peer, callingAe, [request], (client) => {
      if (!signal) return;
      onAbort = () => {
        try {
          client.cancel(request);
        } catch {
          /* not yet associated: the abort below ends it */
        }
        grace = setTimeout(() => {
          try {
            client.abort();
          } catch {
            /* already closed */
          }
        }, CANCEL_GRACE_MS);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  } catch (err) {
    // An aborted association after a cancel is the cancel, not a failure.
    if (!signal?.aborted) throw err;
  } finally {
    if (grace) clearTimeout(grace);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
  const done = final as responses.CMoveResponse | null;
  if (signal?.aborted) {
    const counts = (last ?? { remaining: 0, completed: 0, failed: 0, warnings: 0, status: STATUS.Cancel }) as MoveProgress & { status: number };
    return { ...counts, status: done?.getStatus() ?? STATUS.Cancel, cancelled: true };
  }
  if (!done || !last) throw new WorkstationError('UNAVAILABLE', `The PACS (${describe(peer)}) ended the retrieve without a final answer.`, { details: { step: 'move' } });
  const counts = last as MoveProgress & { status: number };
  // Success, or Warning (0xB000: some sub-operations failed) with what did arrive.
  if (done.getStatus() !== STATUS.Success && done.getStatus() !== 0xb000) {
    throw new WorkstationError('UNAVAILABLE', `The PACS (${describe(peer)}) did not send the study (${statusText(done)}; ${counts.completed} sent, ${counts.failed} failed). Check that it knows this workstation's AE title ${destinationAe} with its address and port.`, { details: { step: 'move', ...counts } });
  }
  return { ...counts, cancelled: false };
}
