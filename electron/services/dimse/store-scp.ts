// The C-STORE SCP: a scanner or PACS pushes studies here (and C-ECHOes). Only allowed calling AE
// titles (and, where set, their addresses) associate, with our AE title as the called AE. Each
// received data set is kept as the bytes that came, capped at a size, wrapped as a Part 10 file
// and handed to the normal import path, so the same parser, limits and refusals decide; the
// C-STORE answer says what happened (a refusal is a failure status with the reason as comment).
// A transfer cut mid-association keeps what was completed and drops the partial instance.
import net from 'node:net';
import { Writable } from 'node:stream';
import type { association, requests, responses } from 'dcmjs-dimse';

type Association = association.Association;
type PresentationContext = association.PresentationContext;
import type { Logger } from '../log';
import { dimse, STORAGE_ROOT, VERIFICATION_SOP_CLASS } from './library';
import { wrapPart10 } from './part10';

export type ImportStatus = 'imported' | 'duplicate' | 'conflict' | 'refused';

export interface StoreImporter {
  importParts(parts: { name: string; bytes: Uint8Array }[]): Promise<{ status: ImportStatus; reason?: string | null; studyId?: string | null }[]>;
}

export interface AssociationSummary {
  callingAe: string;
  remoteAddress: string;
  imported: number;
  duplicate: number;
  refused: number;
  /** The local studies that received new instances. */
  studyIds: string[];
  /** Whether the association ended without a release (cut, aborted). */
  cut: boolean;
}

export interface StoreScpOptions {
  aeTitle: string;
  port: number;
  bindAddress: string;
  /** Whether this caller may associate (calling AE title, remote address). */
  allowed(callingAe: string, remoteAddress: string): boolean;
  importer: StoreImporter;
  logger: Logger;
  /** Largest data set accepted per C-STORE (bytes); a bigger one is refused with Out of Resources. */
  maxInstanceBytes: number;
  /** Concurrent associations; further connections are closed at once. */
  maxAssociations?: number;
  onAssociationRefused?: (e: { callingAe: string; calledAe: string; remoteAddress: string; reason: string }) => void;
  onAssociationEnded?: (summary: AssociationSummary) => void;
}

export interface StoreScp {
  readonly port: number;
  readonly address: string;
  close(): Promise<void>;
}

const STATUS = dimse.constants.Status;
const { PresentationContextResult, RejectResult, RejectSource, RejectReason, TransferSyntax } = dimse.constants;
/** Out of Resources (PS3.4 C.4.2.1.5), for a data set over the size cap. */
const OUT_OF_RESOURCES = 0xa700;
/** Cannot understand: what the import path refused. */
const CANNOT_UNDERSTAND = 0xc000;

/** Transfer syntaxes the import path reads, most preferred first. */
function preferredSyntaxes(supported: readonly string[]): string[] {
  const first = [TransferSyntax.ExplicitVRLittleEndian, TransferSyntax.ImplicitVRLittleEndian];
  return [...first, ...supported.filter((s) => !first.includes(s))];
}

/** A capped in-memory sink for one C-STORE data set. */
class CappedSink extends Writable {
  readonly chunks: Buffer[] = [];
  size = 0;
  overflow = false;
  constructor(private readonly cap: number) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.size += chunk.length;
    if (this.size > this.cap) {
      this.overflow = true;
      this.chunks.length = 0;
    } else this.chunks.push(chunk);
    done();
  }
}

export async function startStoreScp(o: StoreScpOptions, supportedSyntaxes: readonly string[]): Promise<StoreScp> {
  const syntaxes = preferredSyntaxes(supportedSyntaxes);
  const maxAssociations = o.maxAssociations ?? 16;
  const sockets = new Set<net.Socket>();

  class WorkstationScp extends dimse.Scp {
    private readonly remoteAddress: string;
    private callingAe = '';
    private summary: AssociationSummary | null = null;
    private released = false;
    private pending: { bytes: Buffer | null; overflow: number; transferSyntaxUid: string } | null = null;
    private work: Promise<unknown> = Promise.resolve();

    constructor(socket: net.Socket) {
      super(socket, { associationTimeout: 30_000, pduTimeout: 60_000 });
      this.remoteAddress = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
      socket.once('close', () => this.ended());
    }

    override associationRequested(association: Association): void {
      this.callingAe = association.getCallingAeTitle().trim();
      const calledAe = association.getCalledAeTitle().trim();
      const refuse = (reason: string, rejectReason: number): void => {
        o.onAssociationRefused?.({ callingAe: this.callingAe, calledAe, remoteAddress: this.remoteAddress, reason });
        o.logger.warn('dimse.association-refused', { callingAe: this.callingAe, calledAe, remoteAddress: this.remoteAddress, reason });
        this.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, rejectReason);
      };
      if (calledAe !== o.aeTitle) return refuse('called AE title is not this workstation', RejectReason.CalledAeNotRecognized);
      if (!o.allowed(this.callingAe, this.remoteAddress)) return refuse('calling AE title (or its address) is not allowed', RejectReason.CallingAeNotRecognized);
      for (const c of association.getPresentationContexts()) {
        const context = association.getPresentationContext(c.id);
        const abstract = context.getAbstractSyntaxUid();
        if (abstract !== VERIFICATION_SOP_CLASS && !abstract.startsWith(STORAGE_ROOT)) {
          context.setResult(PresentationContextResult.RejectAbstractSyntaxNotSupported);
          continue;
        }
        const offered = context.getTransferSyntaxUids();
        const ts = syntaxes.find((s) => offered.includes(s));
        if (ts) context.setResult(PresentationContextResult.Accept, ts);
        else context.setResult(PresentationContextResult.RejectTransferSyntaxesNotSupported);
      }
      this.summary = { callingAe: this.callingAe, remoteAddress: this.remoteAddress, imported: 0, duplicate: 0, refused: 0, studyIds: [], cut: false };
      this.sendAssociationAccept();
    }

    override associationReleaseRequested(): void {
      this.released = true;
      // Answer after the last import finished, so what was acknowledged is in the index.
      void this.work.finally(() => this.sendAssociationReleaseResponse());
    }

    override cEchoRequest(request: requests.CEchoRequest, callback: (response: responses.CEchoResponse) => void): void {
      const response = dimse.responses.CEchoResponse.fromRequest(request);
      response.setStatus(STATUS.Success);
      callback(response);
    }

    override createStoreWritableStream(): Writable {
      return new CappedSink(o.maxInstanceBytes);
    }

    override createDatasetFromStoreWritableStream(writable: Writable, context: PresentationContext, callback: (dataset: InstanceType<typeof dimse.Dataset>) => void): void {
      // Keep the bytes as they came; the library does not parse them (the import path will).
      const sink = writable as CappedSink;
      this.pending = { bytes: sink.overflow ? null : Buffer.concat(sink.chunks), overflow: sink.size, transferSyntaxUid: context.getAcceptedTransferSyntaxUid() ?? TransferSyntax.ImplicitVRLittleEndian };
      callback(new dimse.Dataset({}));
    }

    override cStoreRequest(request: requests.CStoreRequest, callback: (response: responses.CStoreResponse) => void): void {
      const received = this.pending;
      this.pending = null;
      const answer = (status: number, comment?: string): void => {
        const response = dimse.responses.CStoreResponse.fromRequest(request);
        response.setStatus(status);
        if (comment) response.setErrorComment(comment.slice(0, 64));
        callback(response);
      };
      const summary = this.summary!;
      if (!received?.bytes) {
        summary.refused++;
        o.logger.warn('dimse.store-too-large', { callingAe: this.callingAe, bytes: received?.overflow ?? 0, cap: o.maxInstanceBytes });
        return answer(OUT_OF_RESOURCES, 'data set larger than this workstation accepts');
      }
      let file: Buffer;
      try {
        file = wrapPart10(received.bytes, { sopClassUid: request.getAffectedSopClassUid(), sopInstanceUid: request.getAffectedSopInstanceUid(), transferSyntaxUid: received.transferSyntaxUid });
      } catch (err) {
        summary.refused++;
        return answer(CANNOT_UNDERSTAND, (err as Error).message);
      }
      const job = this.work.then(async () => {
        try {
          const [r] = await o.importer.importParts([{ name: `dimse:${this.callingAe}:${request.getAffectedSopInstanceUid()}`, bytes: file }]);
          if (r && (r.status === 'imported' || r.status === 'duplicate')) {
            if (r.status === 'imported') summary.imported++;
            else summary.duplicate++;
            if (r.status === 'imported' && r.studyId && !summary.studyIds.includes(r.studyId)) summary.studyIds.push(r.studyId);
            answer(STATUS.Success);
          } else {
            summary.refused++;
            answer(CANNOT_UNDERSTAND, `refused: ${r?.reason ?? r?.status ?? 'no answer from the import path'}`);
          }
        } catch (err) {
          summary.refused++;
          o.logger.error('dimse.import-failed', { err });
          answer(STATUS.ProcessingFailure, 'the import failed on this workstation');
        }
      });
      this.work = job;
    }

    override abort(): void {
      // The peer aborted: what was acknowledged stays; ended() reports it.
    }

    private ended(): void {
      const summary = this.summary;
      if (!summary) return;
      this.summary = null;
      void this.work.finally(() => {
        summary.cut = !this.released;
        o.onAssociationEnded?.(summary);
      });
    }
  }

  const server = net.createServer((socket) => {
    if (sockets.size >= maxAssociations) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const scp = new WorkstationScp(socket);
    scp.on('networkError', (err: Error) => {
      o.logger.warn('dimse.network-error', { message: err.message });
      socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.bindAddress, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => o.logger.error('dimse.server-error', { err }));
  const addr = server.address() as net.AddressInfo;
  return {
    port: addr.port,
    address: addr.address,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
